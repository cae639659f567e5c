// First run and Settings > Station, as a clinic's IT person sees them: the data folder, the model pack verified by
// checksum with its card, the execution provider; and a damaged model pack reported in words.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { test, expect, startApp, stopApp, signInAs, repoRoot, type AppServer } from './fixtures';
import type { Page } from '@playwright/test';

test('Settings > Station shows the data folder, the verified model pack and its card, and the provider', async ({ app, page }) => {
  await page.goto(app.url);
  await page.getByTestId('settings-button').click();
  const dialog = page.getByTestId('settings-dialog');
  await expect(dialog).toBeVisible();
  const setup = dialog.getByTestId('station-setup');
  await expect(setup.getByTestId('setup-data-dir')).toHaveText(path.dirname(app.dbPath));
  await expect(setup.getByTestId('setup-model')).toHaveAttribute('data-state', 'ok');
  await expect(setup.getByTestId('setup-model-verified')).toContainText('cxr-tb-v1');
  await expect(setup.getByTestId('setup-model-verified')).toContainText('matches the checksum');
  await expect(setup.getByTestId('model-card')).toHaveCount(0);
  await setup.getByTestId('setup-model-card-toggle').click();
  const card = setup.getByTestId('model-card');
  await expect(card.locator('h3').first()).toContainText('Model card');
  await expect(card.locator('table').first()).toBeVisible();
  // The card is rendered as formatted text: no links to follow, no images fetched.
  expect(await card.locator('a, img, script, iframe').count()).toBe(0);
  await expect(setup.getByTestId('setup-ep-active')).toHaveAttribute('data-ep', /^(cpu|cuda)$/);
  await expect(setup.getByTestId('setup-about')).toContainText('local web mode');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
});

test('first run: the station summary stands beside the administrator’s form', async ({ page }) => {
  const app = await startApp(undefined, { signIn: 'first-run' });
  try {
    await page.goto(app.url);
    await expect(page.getByTestId('setup-form')).toBeVisible();
    const setup = page.getByTestId('station-setup');
    await expect(setup.getByTestId('setup-data-dir')).toHaveText(path.dirname(app.dbPath));
    await expect(setup.getByTestId('setup-model')).toHaveAttribute('data-state', 'ok');
    await expect(setup.getByTestId('setup-admin')).toHaveAttribute('data-state', 'todo');
    await expect(setup.getByTestId('setup-ep-active')).toBeVisible();
  } finally {
    await stopApp(app);
  }
});

/** `cxr serve` with a model pack of our choosing. */
async function serveWithModel(modelDir: string, page: Page): Promise<AppServer> {
  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-')), 'cases.sqlite');
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/cxr.mjs'), 'serve', '--db', db, '--port', '0', '--model', modelDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).url));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const app: AppServer = { url, dbPath: db, process: child, cookie: '' };
  await signInAs(app, 'administrator', page);
  return app;
}

test('a replaced model file is named, with the checksum it should have, and the station still opens', async ({ page }) => {
  const pack = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-pack-'));
  const src = path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1');
  for (const f of ['manifest.json', 'model.onnx', 'MODEL_CARD.md']) fs.copyFileSync(path.join(src, f), path.join(pack, f));
  const bytes = fs.readFileSync(path.join(pack, 'model.onnx'));
  bytes[bytes.length - 10] ^= 0x55;
  fs.writeFileSync(path.join(pack, 'model.onnx'), bytes);
  const app = await serveWithModel(pack, page);
  try {
    await page.goto(app.url);
    await page.getByTestId('settings-button').click();
    const setup = page.getByTestId('station-setup');
    await expect(setup.getByTestId('setup-model')).toHaveAttribute('data-state', 'err');
    await expect(setup.getByTestId('setup-model-error')).toContainText('MODEL_CORRUPT');
    await expect(setup.getByTestId('setup-model-error')).toContainText('does not match the checksum');
    await expect(setup.getByTestId('setup-ep-active')).toHaveAttribute('data-ep', 'none');
  } finally {
    await stopApp(app);
  }
});
