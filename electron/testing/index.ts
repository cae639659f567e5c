// Helpers shared by the unit tests: temporary folders and the location of the shared data sets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/datasets beside the repository, unless CXR_DATASETS says otherwise. */
export const datasetsDir = process.env.CXR_DATASETS ? path.resolve(process.env.CXR_DATASETS) : path.resolve(repoRoot, '../shared/datasets');

const made: string[] = [];

/**
 * A new folder under the OS temp folder, removed when the process exits (a test file or a benchmark leaves nothing
 * behind: a network benchmark writes about 0.6 GB of stores). CXR_KEEP_TEMP=1 keeps them for inspection.
 */
export function tempDir(prefix = 'cxr-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (!process.env.CXR_KEEP_TEMP) {
    if (made.length === 0) process.once('exit', removeTempDirs);
    made.push(dir);
  }
  return dir;
}

function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort: a folder still in use elsewhere stays */
    }
  }
}

export function tempDbPath(): string {
  return path.join(tempDir(), 'cases.sqlite');
}
