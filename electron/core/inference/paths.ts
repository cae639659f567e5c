// Where the shipped model pack lives in a checkout: models/packs/cxr-tb-v1 under the repository root.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');

export function defaultPackDir(name = 'cxr-tb-v1'): string {
  return path.join(REPO_ROOT, 'models', 'packs', name);
}
