// Editing speed on a 3000 x 3000 image with every overlay on (lung masks, a lesion mask, the evidence heatmap,
// lesion boxes), in Chromium driven by Playwright against the local web mode (the e2e launch options):
//  - pan and zoom: the time of each painted frame (image + overlays), median and p95 (target p95 <= 16 ms);
//  - brush: from the pointer event to the stroke's pixels drawn on the mask layer (target p95 <= 16 ms);
//  - undo (and redo) of a large mask edit, from the key press to the repainted layer (target <= 50 ms);
//  - saving an edit, from the edit's end to the store's answer, for a box edit and for a mask edit (target <= 20 ms).
import { chromium, type Page } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Workstation } from '../electron/core/api/index';
import { importBytes } from '../electron/core/importing/index';
import { startServer } from '../electron/server/index';
import { tempDbPath } from '../electron/testing/index';
import { syntheticDicom } from './synthetic';
import { median, percentile } from './stats';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = 3000;

function line(label: string, xs: number[], targetP95?: number): void {
  const med = median(xs);
  const p95 = percentile(xs, 95);
  const verdict = targetP95 === undefined ? '' : `, target p95 <= ${targetP95} ms: ${p95 <= targetP95 ? 'ok' : 'OVER TARGET'}`;
  console.log(`  ${label.padEnd(52)} median ${med.toFixed(2).padStart(8)} ms   p95 ${p95.toFixed(2).padStart(8)} ms   (n=${xs.length}${verdict})`);
}

/** A reading with everything the overlays show: boxes, both lung outlines, an evidence grid. */
function syntheticReading() {
  const lung = (x0: number, x1: number): [number, number][] => {
    const pts: [number, number][] = [];
    for (let i = 0; i < 48; i++) {
      const a = (i / 48) * Math.PI * 2;
      pts.push([Math.round((x0 + x1) / 2 + Math.cos(a) * (x1 - x0) * 0.5), Math.round(1500 + Math.sin(a) * 1150)]);
    }
    return pts;
  };
  const gw = 64;
  const grid = new Uint8Array(gw * gw);
  for (let y = 0; y < gw; y++) for (let x = 0; x < gw; x++) grid[y * gw + x] = Math.round(255 * Math.exp(-((x - 20) ** 2 + (y - 22) ** 2) / 60));
  return {
    result: {
      threshold: 50,
      probabilities: [{ name: 'tb', p: 0.9 }],
      boxes: [
        { x: 700, y: 600, w: 400, h: 350, label: 'ActiveTuberculosis', score: 0.91 },
        { x: 1900, y: 800, w: 300, h: 260, label: 'ObsoletePulmonaryTuberculosis', score: 0.62 },
        { x: 900, y: 1700, w: 250, h: 240, label: 'ActiveTuberculosis', score: 0.48 },
      ],
      lungs: { right: lung(350, 1400), left: lung(1600, 2650) },
      zones: [],
      evidence: { width: gw, height: gw, origin: [0, 0], cell: [N / gw, N / gw] },
      timingsMs: { total: 100 },
    },
    grid,
  };
}

async function frames<T>(page: Page, action: () => Promise<T>): Promise<number[]> {
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __framesOn?: boolean };
    w.__frames = [];
    if (!w.__framesOn) window.addEventListener('cxr:frame', (e) => w.__frames.push((e as CustomEvent<{ ms: number }>).detail.ms));
    w.__framesOn = true;
  });
  await action();
  await page.waitForTimeout(100);
  return page.evaluate(() => (window as unknown as { __frames: number[] }).__frames);
}

export async function benchEditing(): Promise<void> {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  const outcome = await importBytes(ws.store, syntheticDicom(N, N, 7), 'bench-3000.dcm');
  if (outcome.status !== 'imported') throw new Error('the benchmark image was not imported');
  const reading = syntheticReading();
  ws.store.saveAnalysis({ imageId: outcome.imageId, model: { name: 'bench', version: '0', sha256: 'x', ep: 'cpu' }, tbScore: 90, label: 'tb', result: reading.result, evidence: reading.grid });
  // A radiologist signed in at the station (the editing calls need one).
  for (const [name, req] of [
    ['accounts:setupAdmin', { username: 'admin', displayName: 'Bench Admin', password: 'bench-password-1' }],
    ['accounts:createUser', { username: 'reader', displayName: 'Bench Reader', role: 'radiologist', password: 'bench-password-1' }],
    ['accounts:login', { username: 'reader', password: 'bench-password-1' }],
  ] as const) {
    const r = await ws.dispatch(name, req);
    if (!r.ok) throw new Error(`${name}: ${r.error.code}: ${r.error.message}`);
  }
  const staticDir = process.env.CXR_RENDERER_OUT ? path.resolve(process.env.CXR_RENDERER_OUT) : path.join(repoRoot, 'dist', 'renderer');
  // Where a save's time goes: the station's share (request checked, handler, reply checked), timed around dispatch.
  const serverSaveMs: number[] = [];
  const dispatch = ws.dispatch.bind(ws);
  ws.dispatch = async (name, req, session) => {
    const t0 = performance.now();
    const r = await dispatch(name, req, session);
    if (name === 'annotations:save') serverSaveMs.push(performance.now() - t0);
    return r;
  };
  const server = await startServer({ workstation: ws, staticDir });
  const browser = await chromium.launch({
    executablePath: process.env.CXR_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
    // each browser signs in for itself
    await page.getByTestId('login-username').fill('reader');
    await page.getByTestId('login-password').fill('bench-password-1');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('worklist-row').first().dblclick();
    await page.getByTestId('editor-toolbar').waitFor();
    await page.locator('[data-testid="finding-row"]').first().waitFor();
    const canvas = page.getByTestId('viewer-canvas');
    const box = (await canvas.boundingBox())!;
    const cx = box.x + box.width * 0.4;
    const cy = box.y + box.height / 2;
    const status = page.getByTestId('save-status');
    let version = 0;
    const nextSave = async () => {
      version++;
      await page.waitForSelector(`[data-testid="save-status"][data-state="saved"][data-version="${version}"]`, { timeout: 30_000 });
      return Number(await status.getAttribute('data-save-ms'));
    };

    // A lesion mask (so that every layer has something), then every layer on.
    await page.getByTestId('tool-brush').click();
    await page.getByTestId('mask-target').selectOption('lesion');
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx + 60, cy + 40, { steps: 5 });
    await page.mouse.up();
    await nextSave();
    for (const layer of ['boxes', 'lungs', 'lesions', 'heatmap']) {
      const b = page.getByTestId(`layer-${layer}`);
      if ((await b.getAttribute('aria-pressed')) !== 'true') await b.click();
    }
    await page.getByTestId('tool-wl').click();

    console.log(`\nEditing on a ${N} x ${N} image, all overlays on (Chromium, --disable-gpu, Playwright; the machine is shared with other work)`);

    // ---- pan and zoom ----
    const zoomFrames = await frames(page, async () => {
      await page.mouse.move(cx, cy);
      for (let i = 0; i < 30; i++) await page.mouse.wheel(0, i < 15 ? -120 : 120);
    });
    const panFrames = await frames(page, async () => {
      await page.mouse.move(cx, cy);
      await page.mouse.down({ button: 'right' });
      await page.mouse.move(cx + 300, cy + 150, { steps: 40 });
      await page.mouse.move(cx - 200, cy - 100, { steps: 40 });
      await page.mouse.up({ button: 'right' });
    });
    await page.keyboard.press('1'); // one image pixel per screen pixel: the most image pixels to draw per frame
    const panFrames11 = await frames(page, async () => {
      await page.mouse.move(cx, cy);
      await page.mouse.down({ button: 'right' });
      await page.mouse.move(cx + 300, cy + 150, { steps: 40 });
      await page.mouse.up({ button: 'right' });
    });
    await page.keyboard.press('f');
    line('zoom (wheel), frame time', zoomFrames, 16);
    line('pan (fitted), frame time', panFrames, 16);
    line('pan (1:1), frame time', panFrames11, 16);

    // ---- brush latency ----
    await page.getByTestId('tool-brush').click();
    await page.getByTestId('mask-target').selectOption('right_lung');
    await page.evaluate(() => {
      const w = window as unknown as { __lat: number[]; __work: number[] };
      w.__lat = [];
      w.__work = [];
      window.addEventListener('cxr:painted', (e) => {
        const d = (e as CustomEvent<{ inputAt: number; receivedAt: number; paintedAt: number }>).detail;
        w.__lat.push(d.paintedAt - d.inputAt);
        w.__work.push(d.paintedAt - d.receivedAt);
      });
    });
    const strokeSaves: number[] = [];
    for (let s = 0; s < 4; s++) {
      await page.mouse.move(cx - 150, cy - 100 + s * 40);
      await page.mouse.down();
      await page.mouse.move(cx + 150, cy - 60 + s * 40, { steps: 40 });
      await page.mouse.up();
      strokeSaves.push(await nextSave());
    }
    const latency = await page.evaluate(() => (window as unknown as { __lat: number[] }).__lat);
    const work = await page.evaluate(() => (window as unknown as { __work: number[] }).__work);
    // The first includes the wait Chromium adds before dispatching a pointer move (it aligns them to its frames);
    // the second is the editor's own work, from the handler to the pixels on the layer.
    line('brush: pointer event timestamp -> painted pixels', latency, 16);
    line('brush: handler -> painted pixels', work, 16);

    // ---- undo / redo of a large mask edit: a lasso over most of the image ----
    await page.getByTestId('tool-lasso').click();
    const lx = box.x + box.width * 0.15;
    const ly = box.y + box.height * 0.08;
    await page.mouse.move(lx, ly);
    await page.mouse.down();
    for (const [fx, fy] of [[0.6, 0.08], [0.6, 0.92], [0.15, 0.92], [0.15, 0.1]]) await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 10 });
    await page.mouse.up();
    strokeSaves.push(await nextSave());
    const undoMs: number[] = [];
    const redoMs: number[] = [];
    for (let i = 0; i < 15; i++) {
      for (const [key, out] of [['z', undoMs], ['y', redoMs]] as const) {
        const ms = await page.evaluate((k) => {
          const t0 = performance.now();
          window.dispatchEvent(new KeyboardEvent('keydown', { key: k, ctrlKey: true, bubbles: true }));
          return performance.now() - t0;
        }, key);
        out.push(ms);
        strokeSaves.push(await nextSave());
      }
    }
    line('undo of a large mask edit (lasso over ~40% of the image)', undoMs, 50);
    line('redo of it', redoMs, 50);

    // ---- saving: a box edit (no pixels sent) and the mask edits above ----
    await page.getByTestId('tool-select').click();
    await page.locator('[data-testid="finding-row"]').first().getByTestId('finding-state').click();
    await canvas.focus();
    // the station's share of the mask saves above (the first, of new masks sent whole, left out like in strokeSaves)
    const maskServerMs = serverSaveMs.slice(1);
    const resBefore = await page.evaluate(() => performance.getEntriesByType('resource').length);
    const srvBefore = serverSaveMs.length;
    const boxSaves: number[] = [];
    for (let i = 0; i < 15; i++) {
      await page.keyboard.press(i % 2 ? 'ArrowLeft' : 'ArrowRight');
      boxSaves.push(await nextSave());
    }
    line('save a box edit (edit end -> store answered)', boxSaves, 20);
    // Where it goes: the browser's fetch (request handed to the network stack -> reply read) and, inside it, the
    // station's dispatch (request checked, handler, reply checked); the rest is the page's own work.
    const fetches = await page.evaluate(
      (from) => performance.getEntriesByType('resource').slice(from).filter((e) => e.name.includes('annotations%3Asave')).map((e) => e.duration),
      resBefore,
    );
    line('  of which: fetch (request out -> reply read)', fetches);
    line('  of which: station dispatch', serverSaveMs.slice(srvBefore));
    line(`save a mask edit (${N}x${N}: changed rows sent run-length coded)`, strokeSaves, 20);
    line('  of which: station dispatch (patch written over the base mask, hashed, stored)', maskServerMs);
  } finally {
    await browser.close();
    await server.close();
    await ws.close();
  }
}
