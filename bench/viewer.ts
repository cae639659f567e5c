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
  const server = await startServer({ workstation: ws, staticDir: path.join(repoRoot, 'dist', 'renderer') });
  const browser = await chromium.launch({
    executablePath: process.env.CXR_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
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
      // Window/level repaint: one drag step, measured from the pointer event to the repaint.
      const canvas = page.getByTestId('viewer-canvas');
      const box = (await canvas.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      for (let k = 0; k < 5; k++) {
        const p = page.evaluate(() => new Promise<number>((resolve) => {
          const t0 = performance.now();
          window.addEventListener('cxr:rendered', () => resolve(performance.now() - t0), { once: true });
        }));
        await page.mouse.move(box.x + box.width / 2 - 10 * (k + 1), box.y + box.height / 2 + 5 * (k + 1));
        wlSamples.push(await p);
      }
      await page.mouse.up();
      await page.keyboard.press('Escape');
    }
    report('case open to first paint (2000x2500 16-bit, Chromium)', [['double-click -> first paint', median(samples), percentile(samples, 95)]], 300);
    report('window/level drag step -> repaint', [['pointer move -> repaint', median(wlSamples), percentile(wlSamples, 95)]]);
  } finally {
    await browser.close();
    await server.close();
    ws.close();
  }
}
