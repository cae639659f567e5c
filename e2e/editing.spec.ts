// Reviewing and correcting the AI's findings on the canvas, in the local web mode, as a radiologist does it: draw a
// box, move and resize it, undo and redo; paint and erase on a lung mask and undo; reject the AI's finding; reload
// the page and find every edit still there. Results are read from the store through the API, and from the screen.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, datasetsDir, repoRoot, apiCall, E2E_USERS } from './fixtures';

const pack = path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1', 'manifest.json');
// A TBX11K image on which the bundled model proposes a lesion box above its display score.
const tbImage = path.join(datasetsDir, 'tbx11k', 'images', 'tb0037.png');

interface Box {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  state: string;
  label: string;
  provenance: { source: string; author?: string; changedBy?: string };
}
interface Stored {
  version: number;
  author: string | null;
  findings: Box[];
  masks: { id: string; width: number; height: number; packed: Uint8Array }[];
}

const api = apiCall;

function countBits(packed: Uint8Array): number {
  let n = 0;
  for (const b of packed) {
    let v = b;
    while (v) {
      n += v & 1;
      v >>= 1;
    }
  }
  return n;
}

/** Where image pixel (x, y) is on the page, for a fitted image without pixel spacing (square pixels). */
async function imageToPage(page: Page, size: { w: number; h: number }) {
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const s = Math.min(box.width / size.w, box.height / size.h) * 0.98;
  const ox = box.x + (Math.floor(box.width) - size.w * s) / 2;
  const oy = box.y + (Math.floor(box.height) - size.h * s) / 2;
  return { s, at: (x: number, y: number) => ({ x: ox + x * s, y: oy + y * s }) };
}

async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }, opts: { shift?: boolean; steps?: number } = {}) {
  await page.mouse.move(from.x, from.y);
  if (opts.shift) await page.keyboard.down('Shift');
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: opts.steps ?? 8 });
  await page.mouse.up();
  if (opts.shift) await page.keyboard.up('Shift');
}

test('draw, move, resize, undo and redo a box; paint, erase and undo on a lung mask; reject the AI finding; all of it survives a reload', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  test.skip(!fs.existsSync(tbImage), `shared image missing: ${tbImage}`);
  test.setTimeout(180_000);
  await page.goto(app.url);
  await worklist.importFiles([tbImage]);
  await expect(page.getByTestId('analysis-status')).toHaveAttribute('data-state', 'idle', { timeout: 90_000 });
  await expect(worklist.rows().filter({ hasText: 'Analyzed' })).toHaveCount(1, { timeout: 30_000 });
  await worklist.open(0);

  const status = page.getByTestId('save-status');
  const saved = async (version: number) => {
    await expect(status).toHaveAttribute('data-state', 'saved');
    await expect(status).toHaveAttribute('data-version', String(version));
  };
  const aiRow = page.locator('[data-testid="finding-row"][data-source="ai"]').first();
  await expect(aiRow).toBeVisible();
  const caseDetail = await api<{ images: { imageId: number; rows: number; columns: number }[] }>(app, 'cases:list', {}).then(async (l: unknown) => {
    const caseId = (l as { rows: { caseId: number }[] }).rows[0].caseId;
    return api<{ images: { imageId: number; rows: number; columns: number }[] }>(app, 'cases:get', { caseId });
  });
  const { imageId, rows, columns } = caseDetail.images[0];
  const stored = () => api<Stored>(app, 'annotations:get', { imageId });
  const start = await stored();
  expect(start.version).toBe(0);
  const ai = start.findings.find((f) => f.provenance.source === 'ai')!;
  expect(ai.state).toBe('proposed');
  await expect(status).toHaveAttribute('data-state', 'idle');

  // ---- a box: drawn away from the AI's, then moved, then resized ----
  const map = await imageToPage(page, { w: columns, h: rows });
  const awayX = ai.x + ai.w / 2 < columns / 2 ? Math.round(columns * 0.62) : Math.round(columns * 0.12);
  const awayY = Math.round(rows * 0.12);
  await page.getByTestId('tool-box').click();
  await drag(page, map.at(awayX, awayY), map.at(awayX + 80, awayY + 60));
  await saved(1);
  const drawn = (await stored()).findings.find((f) => f.provenance.source === 'user')!;
  expect(drawn.state).toBe('added');
  expect(Math.abs(drawn.x - awayX)).toBeLessThanOrEqual(2);
  expect(Math.abs(drawn.w - 80)).toBeLessThanOrEqual(2);

  await page.getByTestId('tool-select').click();
  await drag(page, map.at(drawn.x + drawn.w / 2, drawn.y + drawn.h / 2), map.at(drawn.x + drawn.w / 2 + 40, drawn.y + drawn.h / 2 + 30));
  await saved(2);
  const moved = (await stored()).findings.find((f) => f.id === drawn.id)!;
  expect(moved.x - drawn.x).toBeGreaterThanOrEqual(38);
  expect(moved.y - drawn.y).toBeGreaterThanOrEqual(28);
  expect([moved.w, moved.h]).toEqual([drawn.w, drawn.h]);

  // The south-east handle of the selected box.
  await drag(page, map.at(moved.x + moved.w, moved.y + moved.h), map.at(moved.x + moved.w + 30, moved.y + moved.h + 20));
  await saved(3);
  const resized = (await stored()).findings.find((f) => f.id === drawn.id)!;
  expect([resized.x, resized.y]).toEqual([moved.x, moved.y]);
  expect(resized.w - moved.w).toBeGreaterThanOrEqual(28);
  expect(resized.h - moved.h).toBeGreaterThanOrEqual(18);

  // Undo twice (the resize, the move) with the keyboard, redo once with the button: the box is where the move put it.
  await page.getByTestId('viewer-canvas').focus();
  await page.keyboard.press('Control+z');
  await saved(4);
  await page.keyboard.press('Control+z');
  await saved(5);
  expect((await stored()).findings.find((f) => f.id === drawn.id)).toMatchObject({ x: drawn.x, y: drawn.y, w: drawn.w, h: drawn.h });
  await page.getByTestId('edit-redo').click();
  await saved(6);
  const afterRedo = (await stored()).findings.find((f) => f.id === drawn.id)!;
  expect(afterRedo).toMatchObject({ x: moved.x, y: moved.y, w: moved.w, h: moved.h });
  await expect(page.locator(`[data-finding-id="${drawn.id}"] [data-testid="finding-geometry"]`)).toHaveText(`${moved.x},${moved.y} ${moved.w}×${moved.h} px`);

  // ---- the right lung mask: paint outside it, erase part of that, undo the erase ----
  await page.getByTestId('tool-brush').click();
  await expect(page.getByTestId('mask-target')).toHaveValue('right_lung');
  await expect(page.getByTestId('layer-lungs')).toHaveAttribute('aria-pressed', 'true');
  const lungBits = async () => countBits((await stored()).masks.find((m) => m.id === 'right_lung')!.packed);
  // Paint a stroke along the image's bottom edge (outside the lungs).
  const y = rows - 12;
  await drag(page, map.at(columns * 0.2, y), map.at(columns * 0.4, y), { steps: 12 });
  await saved(7);
  const painted = await lungBits();
  expect(painted).toBeGreaterThan(0);
  // Shift erases with the brush: half of the stroke.
  await drag(page, map.at(columns * 0.3, y), map.at(columns * 0.45, y), { shift: true, steps: 12 });
  await saved(8);
  const erased = await lungBits();
  expect(erased).toBeLessThan(painted);
  await page.getByTestId('edit-undo').click();
  await saved(9);
  expect(await lungBits()).toBe(painted);

  // ---- reject the AI's finding ----
  const aiListed = page.locator(`[data-finding-id="${ai.id}"]`);
  await aiListed.getByTestId('finding-reject').click();
  await expect(aiListed).toHaveAttribute('data-state', 'rejected');
  await expect(aiListed.getByTestId('finding-state')).toHaveText('rejected');
  await saved(10);
  const afterReject = await stored();
  expect(afterReject.findings.find((f) => f.id === ai.id)).toMatchObject({ state: 'rejected', x: ai.x, y: ai.y, w: ai.w, h: ai.h });
  const reader = E2E_USERS.radiologist.displayName;
  expect(afterReject.findings.find((f) => f.id === ai.id)!.provenance.changedBy).toBe(reader);
  expect(afterReject.findings.find((f) => f.id === drawn.id)!.provenance.author).toBe(reader);
  await expect(aiListed.getByTestId('finding-origin')).toContainText(`rejected by ${reader}`);

  // ---- reload: everything is still there, on screen and in the store ----
  await page.reload();
  // the case that was open opens again by itself
  await expect(page.getByTestId('viewer')).toBeVisible();
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-version', '10');
  await expect(page.locator(`[data-finding-id="${ai.id}"]`)).toHaveAttribute('data-state', 'rejected');
  await expect(page.locator(`[data-finding-id="${drawn.id}"]`)).toHaveAttribute('data-state', 'added');
  await expect(page.locator(`[data-finding-id="${drawn.id}"] [data-testid="finding-origin"]`)).toContainText(`Added by ${reader}`);
  await expect(page.locator(`[data-finding-id="${drawn.id}"] [data-testid="finding-geometry"]`)).toHaveText(`${moved.x},${moved.y} ${moved.w}×${moved.h} px`);
  expect(await lungBits()).toBe(painted);
  const versions = await api<{ versions: { version: number }[] }>(app, 'annotations:versions', { imageId });
  expect(versions.versions.map((v) => v.version)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
});

test('the shortcut help lists every tool, and a changed shortcut is remembered', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(tbImage), `shared image missing: ${tbImage}`);
  await page.goto(app.url);
  await worklist.importFiles([tbImage]);
  await worklist.open(0);
  await expect(page.getByTestId('editor-toolbar')).toBeVisible();
  await page.getByTestId('viewer-canvas').focus();
  await page.keyboard.press('?');
  const help = page.getByTestId('help-overlay');
  await expect(help).toBeVisible();
  for (const action of ['toolSelect', 'toolBox', 'toolBrush', 'toolEraser', 'toolLasso', 'toolFill', 'undo', 'redo', 'brushSmaller', 'brushLarger', 'layerHeatmap']) {
    await expect(help.locator(`[data-action="${action}"]`)).toHaveCount(1);
  }
  // Box tool on K instead of B.
  await help.locator('[data-action="toolBox"]').getByTestId('shortcut-change').click();
  await page.getByTestId('shortcut-capture').press('k');
  await expect(help.locator('[data-action="toolBox"] kbd')).toHaveText('k');
  await page.getByTestId('help-close').click();
  await page.reload();
  // the case that was open opens again by itself
  await expect(page.getByTestId('viewer')).toBeVisible();
  await expect(page.getByTestId('editor-toolbar')).toBeVisible();
  await page.getByTestId('viewer-canvas').focus();
  await page.keyboard.press('k');
  await expect(page.getByTestId('tool-box')).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('p');
  await expect(page.getByTestId('tool-brush')).toHaveAttribute('aria-pressed', 'true');
  const size = Number(await page.getByTestId('brush-size').inputValue());
  await page.keyboard.press(']');
  await expect(page.getByTestId('brush-size')).not.toHaveValue(String(size));
  expect(Number(await page.getByTestId('brush-size').inputValue())).toBeGreaterThan(size);
});

test('lasso, cut-out and fill on a new lesion mask; Escape cancels a stroke; layers follow their keys', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(tbImage), `shared image missing: ${tbImage}`);
  await page.goto(app.url);
  await worklist.importFiles([tbImage]);
  await worklist.open(0);
  await expect(page.getByTestId('editor-toolbar')).toBeVisible();
  const list = await api<{ rows: { caseId: number }[] }>(app, 'cases:list', {});
  const { images } = await api<{ images: { imageId: number; rows: number; columns: number }[] }>(app, 'cases:get', { caseId: list.rows[0].caseId });
  const { imageId, rows, columns } = images[0];
  const lesionBits = async () => {
    const m = (await api<Stored>(app, 'annotations:get', { imageId })).masks.find((x) => x.id === 'lesion');
    return m ? countBits(m.packed) : 0;
  };
  const status = page.getByTestId('save-status');
  let version = 0;
  const saved = async () => {
    version++;
    await expect(status).toHaveAttribute('data-version', String(version));
    await expect(status).toHaveAttribute('data-state', 'saved');
  };
  const map = await imageToPage(page, { w: columns, h: rows });

  // Layers: keys toggle them, the buttons say so.
  await page.getByTestId('viewer-canvas').focus();
  const lungs = page.getByTestId('layer-lungs');
  const before = await lungs.getAttribute('aria-pressed');
  await page.keyboard.press('u');
  await expect(lungs).toHaveAttribute('aria-pressed', before === 'true' ? 'false' : 'true');

  // A lasso traced on the lesion mask (which does not exist yet) fills it.
  await page.getByTestId('tool-lasso').click();
  await page.getByTestId('mask-target').selectOption('lesion');
  await expect(page.getByTestId('layer-lesions')).toHaveAttribute('aria-pressed', 'true');
  const square = async (x0: number, y0: number, x1: number, y1: number, shift = false) => {
    const pts = [map.at(x0, y0), map.at(x1, y0), map.at(x1, y1), map.at(x0, y1), map.at(x0, y0 + 2)];
    await page.mouse.move(pts[0].x, pts[0].y);
    if (shift) await page.keyboard.down('Shift');
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(p.x, p.y, { steps: 6 });
    await page.mouse.up();
    if (shift) await page.keyboard.up('Shift');
  };
  await square(100, 300, 200, 400);
  await saved();
  const full = await lesionBits();
  expect(full).toBeGreaterThan(90 * 90);
  // Shift cuts a hole out of it.
  await square(130, 330, 170, 370, true);
  await saved();
  const holed = await lesionBits();
  expect(holed).toBeLessThan(full);
  // Fill inside the hole: a closed region, filled back exactly.
  await page.getByTestId('tool-fill').click();
  const inHole = map.at(150, 350);
  await page.mouse.click(inHole.x, inHole.y);
  await saved();
  expect(await lesionBits()).toBe(full);
  // Outside every outline the region reaches the border: nothing is filled, and the reader is told why.
  const outside = map.at(20, 20);
  await page.mouse.click(outside.x, outside.y);
  await expect(page.getByTestId('editor-notice')).toContainText('closed');

  // Escape during a brush stroke takes it back: no new version, no pixel changed.
  await page.getByTestId('tool-brush').click();
  const a = map.at(300, 450);
  const b = map.at(380, 460);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 6 });
  await page.keyboard.press('Escape');
  await page.mouse.up();
  await expect(page.getByTestId('viewer')).toBeVisible();
  await expect(status).toHaveAttribute('data-version', String(version));
  expect(await lesionBits()).toBe(full);
  await expect(page.getByTestId('edit-undo')).toBeEnabled();
  await page.getByTestId('edit-undo').click();
  await saved();
  expect(await lesionBits()).toBe(holed);
});
