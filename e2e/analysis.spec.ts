// The model reads imported images in the background: progress shows in the header, the TB score lands on the
// worklist (which sorts by it for triage), and the viewer shows the reading.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, datasetsDir, repoRoot } from './fixtures';

const pack = path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1', 'manifest.json');
const tbImage = path.join(datasetsDir, 'tbx11k', 'images', 'tb0004.png');
const normalImage = path.join(datasetsDir, 'shenzhen', 'images', 'CHNCXR_0004_0.png');

test('imported images are analysed in the background and the worklist sorts by TB score', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  test.skip(!fs.existsSync(tbImage) || !fs.existsSync(normalImage), 'shared images missing');
  await page.goto(app.url);
  await expect(page.getByTestId('analysis-status')).toContainText(/cxr-tb-v1|AI reading/);
  await worklist.importFiles([normalImage, tbImage]);
  await expect(page.getByTestId('analysis-status')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(worklist.rows()).toHaveCount(2);
  await expect(worklist.rows().filter({ hasText: 'Analyzed' })).toHaveCount(2, { timeout: 30_000 });

  await page.getByTestId('worklist-header-aiScore').click();
  const scores = async () =>
    (await worklist.rows().getByTestId('worklist-score-value').allInnerTexts()).map((t) => Number(t.trim()));
  await expect.poll(async () => (await scores()).length === 2 && (await scores()).every((s) => Number.isFinite(s))).toBe(true);
  let s = await scores();
  const dir = (await page.getByTestId('worklist').getAttribute('data-sort-dir')) ?? 'desc';
  const sorted = [...s].sort((a, b) => (dir === 'asc' ? a - b : b - a));
  expect(s).toEqual(sorted);

  await worklist.open(0);
  await expect(page.getByTestId('ai-panel')).toHaveAttribute('data-state', 'done');
  const shown = Number(await page.getByTestId('ai-tb-score').innerText());
  expect(shown).toBeCloseTo(s[0], 0);
  await expect(page.getByTestId('ai-panel')).toContainText('cxr-tb-v1');
});

test('a blank image gets no TB score: the worklist and the AI panel say it is out of scope', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  const { blankPng } = await import('../electron/testing/bombs');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-blank-')), 'blank.png');
  fs.writeFileSync(file, blankPng(1024, 1024, 128));
  await page.goto(app.url);
  await worklist.importFiles([file]);
  await expect(page.getByTestId('analysis-status')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(worklist.rows().first().getByTestId('ai-out-of-scope')).toHaveText('out of scope', { timeout: 30_000 });
  await expect(worklist.rows().first()).not.toContainText('Analyzed');
  await worklist.open(0);
  await expect(page.getByTestId('ai-panel')).toHaveAttribute('data-state', 'out-of-scope');
  await expect(page.getByTestId('ai-panel')).toContainText('Out of scope: no TB score.');
  await expect(page.getByTestId('ai-panel')).toContainText('the image is blank');
  await expect(page.getByTestId('ai-tb-score')).toHaveCount(0);
});
