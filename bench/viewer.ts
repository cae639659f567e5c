// Case open to first paint: from the double-click on a worklist row to the viewer's first `cxr:rendered` event,
// for a 2000 x 2500 16-bit image, in Chromium driven by Playwright against the local web mode.
import { chromium } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Workstation } from '../electron/core/api/index';
import { importBytes } from '../electron/core/importing/index';
import { startServer } from '../electron/server/index';
import { tempDbPath } from '../electron/testing/index';
import { syntheticDicom } from './synthetic';
import { median, percentile, report } from './stats';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function benchViewer(): Promise<void> {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  await importBytes(ws.store, syntheticDicom(2500, 2000, 99), 'bench.dcm');
  // A reader's account: the page signs in with it (the station answers nothing to a browser that has not).
  for (const [name, req] of [
    ['accounts:setupAdmin', { username: 'admin', displayName: 'Bench Admin', password: 'bench-password-1' }],
    ['accounts:createUser', { username: 'reader', displayName: 'Bench Reader', role: 'radiologist', password: 'bench-password-1' }],
  ] as const) {
    const r = await ws.dispatch(name, req);
    if (!r.ok) throw new Error(`${name}: ${r.error.code}: ${r.error.message}`);
  }
  const server = await startServer({ workstation: ws, staticDir: path.join(repoRoot, 'dist', 'renderer') });
  const browser = await chromium.launch({
    executablePath: process.env.CXR_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
    await page.getByTestId('login-username').fill('reader');
    await page.getByTestId('login-password').fill('bench-password-1');
    await page.getByTestId('login-submit').click();
    const row = page.getByTestId('worklist-row').first();
    await row.waitFor();
    const samples: number[] = [];
    const wlSamples: number[] = [];
    for (let i = 0; i < 12; i++) {
      await page.getByTestId('worklist').waitFor();
      const ms = await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const t0 = performance.now();
            window.addEventListener('cxr:rendered', () => resolve(performance.now() - t0), { once: true });
            document.querySelector('[data-testid="worklist-row"]')!.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
          }),
      );
      if (i >= 2) samples.push(ms);
      // Window/level repaint cost: each drag step rebuilds the LUT and applies it to every pixel; the viewer
      // reports that time (lutMs) with the rendered event that ends the drag.
      const canvas = page.getByTestId('viewer-canvas');
      const box = (await canvas.boundingBox())!;
      for (let k = 0; k < 3; k++) {
        const done = page.evaluate(() => new Promise<number>((resolve) => window.addEventListener('cxr:rendered', (e) => resolve((e as CustomEvent<{ lutMs: number }>).detail.lutMs), { once: true })));
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.down();
        await page.mouse.move(box.x + box.width / 2 - 20 * (k + 1), box.y + box.height / 2 + 10 * (k + 1), { steps: 3 });
        await page.mouse.up();
        wlSamples.push(await done);
      }
      await page.keyboard.press('Escape');
    }
    report('case open to first paint (2000x2500 16-bit, Chromium)', [['double-click -> first paint', median(samples), percentile(samples, 95)]], 300);
    report('window/level change on 5 Mpixel 16-bit (LUT build + apply + putImageData)', [['per window/level change', median(wlSamples), percentile(wlSamples, 95)]], 16);
  } finally {
    await browser.close();
    await server.close();
    await ws.close();
  }
}
