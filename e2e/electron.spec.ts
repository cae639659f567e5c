// The desktop app itself, driven through Playwright's Electron support. Runs where the Electron binary is
// installed; on build machines without it (no download possible) every test here reports itself as skipped.
import { test, expect, _electron as electron } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './fixtures';

function electronBinary(): string | null {
  const dir = path.join(repoRoot, 'node_modules', 'electron');
  const pathFile = path.join(dir, 'path.txt');
  if (!fs.existsSync(pathFile)) return null;
  const exe = fs.readFileSync(pathFile, 'utf8').trim();
  const base = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(dir, 'dist');
  const full = path.join(base, exe);
  return fs.existsSync(full) ? full : null;
}

const binary = electronBinary();

test.describe('Electron app', () => {
  test.skip(!binary, 'Electron binary not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD); the desktop window is not tested on this machine');

  test('opens a hardened window that exposes only the contract', async () => {
    const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-electron-')), 'cases.sqlite');
    const app = await electron.launch({ executablePath: binary!, args: [repoRoot], env: { ...process.env, CXR_DB: db } });
    try {
      const win = await app.firstWindow();
      // A fresh store: the first-run screen (CXR_DB set, so no data-folder dialog) with the station summary.
      await expect(win.getByTestId('setup-form')).toBeVisible();
      await expect(win.getByTestId('setup-model')).toHaveAttribute('data-state', 'ok');
      // No Node in the page (nodeIntegration off, sandbox on) and the preload's world is isolated from the page's.
      expect(await win.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
      expect(await win.evaluate(() => typeof (globalThis as unknown as { process?: unknown }).process)).toBe('undefined');
      expect(await win.evaluate(() => Object.isFrozen((window as unknown as { cxr: object }).cxr))).toBe(true);
      // Navigation away from the app is refused.
      await win.evaluate(() => { window.location.href = 'https://example.org/'; });
      await expect(win.getByTestId('setup-form')).toBeVisible();
      expect(win.url()).toMatch(/^file:/);
      expect(await win.evaluate(() => Object.keys((window as unknown as { cxr: object }).cxr).sort())).toEqual(['invoke', 'on']);
      const info = await win.evaluate(() => (window as unknown as { cxr: { invoke(n: string, r: unknown): Promise<{ ok: boolean; value: { transport: string } }> } }).cxr.invoke('app:info', {}));
      expect(info.ok).toBe(true);
      expect(info.value.transport).toBe('ipc');
      const status = await win.evaluate(() => (window as unknown as { cxr: { invoke(n: string, r: unknown): Promise<{ ok: boolean; value: { transport: string; model: { status: string }; dataFolder: { source: string } } }> } }).cxr.invoke('system:status', {}));
      expect(status.value.transport).toBe('ipc');
      expect(status.value.model.status).toBe('verified');
      expect(status.value.dataFolder.source).toBe('env');
      // Remote content is never fetched: a fetch from the page fails (CSP and the session's request filter).
      expect(await win.evaluate(() => fetch('https://example.org/').then(() => 'fetched', () => 'blocked'))).toBe('blocked');
      const popup = await win.evaluate(() => window.open('https://example.org') === null);
      expect(popup).toBe(true);
    } finally {
      await app.close();
    }
  });
});
