// The App fixture: a fresh local web-mode server with its own database for each test, started the way a user
// starts it (`cxr serve`), and page objects for the parts of the screen the tests drive.
import { test as base, expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const datasetsDir = process.env.CXR_DATASETS ? path.resolve(process.env.CXR_DATASETS) : path.resolve(repoRoot, '../shared/datasets');

export interface AppServer {
  url: string;
  dbPath: string;
  process: ChildProcess;
}

export async function startApp(dbPath?: string): Promise<AppServer> {
  const db = dbPath ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-')), 'cases.sqlite');
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/cxr.mjs'), 'serve', '--db', db, '--port', '0'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const rl = readline.createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return { url, dbPath: db, process: child };
}

export async function stopApp(app: AppServer): Promise<void> {
  if (app.process.exitCode !== null) return;
  const exited = new Promise((r) => app.process.once('exit', r));
  app.process.kill('SIGTERM');
  await exited;
}

export class Worklist {
  constructor(readonly page: Page) {}
  rows() {
    return this.page.getByTestId('worklist-row');
  }
  async importFiles(files: string[]) {
    await this.page.getByTestId('import-files-input').setInputFiles(files);
    await expect(this.page.getByTestId('import-results')).toBeVisible({ timeout: 60_000 });
  }
  resultRows() {
    return this.page.getByTestId('import-result-row');
  }
  async open(index: number) {
    await this.rows().nth(index).dblclick();
  }
}

export class Viewer {
  constructor(readonly page: Page) {}
  canvas() {
    return this.page.getByTestId('viewer-canvas');
  }
  /** Resolves with the detail of the next `cxr:rendered` event the page dispatches. */
  async nextRender(action: () => Promise<void>): Promise<{ imageId: number; center: number; width: number; invert: boolean; zoom: number }> {
    const waiter = this.page.evaluate(
      () => new Promise((resolve) => window.addEventListener('cxr:rendered', (e) => resolve((e as CustomEvent).detail), { once: true })),
    );
    await action();
    return (await waiter) as { imageId: number; center: number; width: number; invert: boolean; zoom: number };
  }
}

export const test = base.extend<{ app: AppServer; worklist: Worklist; viewer: Viewer }>({
  app: async ({}, use) => {
    const app = await startApp();
    await use(app);
    await stopApp(app);
  },
  worklist: async ({ page }, use) => use(new Worklist(page)),
  viewer: async ({ page }, use) => use(new Viewer(page)),
});

export { expect };
