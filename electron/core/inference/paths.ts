// Where the shipped model pack lives: models/packs/<name> under the repository root in a checkout, and
// resources/models/packs/<name> in a packaged install (electron-builder's extraResources, see build/).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const DEFAULT_PACK = 'cxr-tb-v1';

export function defaultPackDir(name = DEFAULT_PACK): string {
  return path.join(REPO_ROOT, 'models', 'packs', name);
}

/** The pack folder inside an installed app's resources folder (`process.resourcesPath`). */
export function packagedPackDir(resourcesPath: string, name = DEFAULT_PACK): string {
  return path.join(resourcesPath, 'models', 'packs', name);
}

export interface PackLocation {
  dir: string;
  source: 'packaged' | 'development';
}

/**
 * The bundled pack for this run. A packaged app looks only in its resources folder, never in a checkout that may
 * happen to sit on the same disk: a missing pack there is reported with the path an installer should have filled.
 * In development (`npm start`, the CLI, tests) the repository's own pack is used.
 */
export function resolvePackDir(where: { isPackaged: boolean; resourcesPath?: string; repoRoot?: string }, name = DEFAULT_PACK): PackLocation {
  if (where.isPackaged) {
    if (!where.resourcesPath) throw new Error('a packaged app has a resources folder');
    return { dir: packagedPackDir(where.resourcesPath, name), source: 'packaged' };
  }
  return { dir: path.join(where.repoRoot ?? REPO_ROOT, 'models', 'packs', name), source: 'development' };
}
