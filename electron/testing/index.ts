// Helpers shared by the unit tests: temporary folders and the location of the shared data sets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/datasets beside the repository, unless CXR_DATASETS says otherwise. */
export const datasetsDir = process.env.CXR_DATASETS ? path.resolve(process.env.CXR_DATASETS) : path.resolve(repoRoot, '../shared/datasets');

export function tempDir(prefix = 'cxr-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function tempDbPath(): string {
  return path.join(tempDir(), 'cases.sqlite');
}
