// The App fixture: a fresh local web-mode server with its own database for each test, started the way a user
// starts it (`cxr serve`), and page objects for the parts of the screen the tests drive.
import { test as base, expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeWire, encodeWire } from '../electron/contract/wire';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const datasetsDir = process.env.CXR_DATASETS ? path.resolve(process.env.CXR_DATASETS) : path.resolve(repoRoot, '../shared/datasets');

export interface AppServer {
  url: string;
  dbPath: string;
  process: ChildProcess;
  /** the test's own browser-like session on the station (its cookie), for apiCall: each browser signs in for itself */
  cookie: string;
}

/** The accounts startApp() creates (one password for all, for tests only). */
export const E2E_PASSWORD = 'e2e-password-1';
export const E2E_USERS = {
  administrator: { username: 'admin', displayName: 'Station Admin' },
  radiologist: { username: 'radiologist', displayName: 'Dr Rita Radiologist' },
  technician: { username: 'technician', displayName: 'Tom Technician' },
} as const;
export type E2ERole = keyof typeof E2E_USERS;

export interface StartOptions {
  /**
   * 'radiologist' (default) or another role: create the administrator (and that role's account) through the API and
   * sign the station in as that role before the page opens, so that the page lands on the worklist.
   * 'first-run': no accounts; the page opens on the first administrator's setup screen.
   */
  signIn?: E2ERole | 'first-run';
  /** the test's page: its browser signs in too (each browser has a session of its own) */
  page?: Page;
}

/** A call to the station's API from the test, as the page makes it (same token, same wire format); throws on refusal. */
export async function apiCall<T = unknown>(app: AppServer, name: string, request: unknown = {}): Promise<T> {
  const reply = await apiReply<T>(app, name, request);
  if (!reply.ok) throw Object.assign(new Error(`${name}: ${reply.error.code}: ${reply.error.message}`), { code: reply.error.code });
  return reply.value;
}

/** The same, returning the reply as it came ({ ok, value } or { ok: false, error }). */
export async function apiReply<T = unknown>(app: AppServer, name: string, request: unknown = {}): Promise<{ ok: true; value: T } | { ok: false; error: { code: string; message: string } }> {
  const url = new URL(app.url);
  const res = await fetch(`${url.origin}/api/call/${name}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${url.searchParams.get('token')}`, 'Content-Type': 'application/octet-stream', ...(app.cookie ? { Cookie: app.cookie } : {}) },
    body: encodeWire(request) as Uint8Array<ArrayBuffer>,
  });
  const set = res.headers.get('set-cookie');
  if (set) app.cookie = set.split(';')[0];
  return decodeWire(new Uint8Array(await res.arrayBuffer())) as { ok: true; value: T } | { ok: false; error: { code: string; message: string } };
}

/** A call from the page's browser (its cookies, so its session), as the page would make it. */
async function pageCall(app: AppServer, page: Page, name: string, request: unknown): Promise<void> {
  const url = new URL(app.url);
  const res = await page.context().request.post(`${url.origin}/api/call/${name}`, {
    headers: { Authorization: `Bearer ${url.searchParams.get('token')}`, 'Content-Type': 'application/octet-stream' },
    data: Buffer.from(encodeWire(request)),
  });
  const reply = decodeWire(new Uint8Array(await res.body())) as { ok: boolean; error?: { code: string; message: string } };
  if (!reply.ok) throw new Error(`${name} from the page's browser: ${reply.error?.code}: ${reply.error?.message}`);
}

/**
 * Sign the test's own session in as `role` (the E2E_USERS account, created by the administrator if missing), and,
 * with `page`, the page's browser too: each browser signs in for itself. An open page follows its own browser's
 * change by itself (the accounts:onSession event).
 */
export async function signInAs(app: AppServer, role: E2ERole, page?: Page): Promise<void> {
  const session = await apiCall<{ setupRequired: boolean }>(app, 'accounts:session');
  const admin = E2E_USERS.administrator;
  if (session.setupRequired) await apiCall(app, 'accounts:setupAdmin', { ...admin, password: E2E_PASSWORD });
  else await apiCall(app, 'accounts:login', { username: admin.username, password: E2E_PASSWORD });
  const u = E2E_USERS[role];
  if (role !== 'administrator') {
    const { users } = await apiCall<{ users: { username: string }[] }>(app, 'accounts:listUsers');
    if (!users.some((x) => x.username === u.username)) await apiCall(app, 'accounts:createUser', { ...u, role, password: E2E_PASSWORD });
    await apiCall(app, 'accounts:login', { username: u.username, password: E2E_PASSWORD });
  }
  if (page) await pageCall(app, page, 'accounts:login', { username: u.username, password: E2E_PASSWORD });
}

export async function startApp(dbPath?: string, options: StartOptions = {}): Promise<AppServer> {
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
  const app: AppServer = { url, dbPath: db, process: child, cookie: '' };
  const role = options.signIn ?? 'radiologist';
  if (role !== 'first-run') {
    try {
      await signInAs(app, role, options.page);
    } catch (e) {
      await stopApp(app);
      throw e;
    }
  }
  return app;
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
  app: async ({ page }, use) => {
    const app = await startApp(undefined, { page });
    await use(app);
    await stopApp(app);
  },
  worklist: async ({ page }, use) => use(new Worklist(page)),
  viewer: async ({ page }, use) => use(new Viewer(page)),
});

export { expect };
