// The first hour of a radiologist and of a clinic's IT person, at the two screen sizes clinic PCs have (1366×768 and
// 1920×1080): what the sign-off warning says after the reader decided, how a real MONOCHROME1 CR opens, what a
// flagged image without a box shows, that the AI panel and the report name the same zones, the worklist's triage
// flag and its filter, each browser signing in for itself, and the layout of each screen (a screenshot of each in test-results/).
import fs from 'node:fs';
import path from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { test, expect, datasetsDir, repoRoot, startApp, stopApp, Worklist, E2E_PASSWORD, E2E_USERS } from './fixtures';

const pack = path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1', 'manifest.json');
const twoBoxes = path.join(datasetsDir, 'tbx11k', 'images', 'tb0003.png');
const noBox = path.join(datasetsDir, 'tbx11k', 'images', 'tb0005.png');
const normal = path.join(datasetsDir, 'shenzhen', 'images', 'CHNCXR_0004_0.png');
const mono1 = path.join(datasetsDir, 'dicom_samples', 'nema_wg04_rg1_cr_chest_pa_j2k_lossy.dcm');
const SIZES = [
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
];

/** A screenshot of the screen as it stands, kept in the test's output folder (test-results/<test>/) for a person to look at. */
async function shot(page: Page, info: TestInfo, name: string): Promise<void> {
  const size = page.viewportSize();
  await page.screenshot({ path: info.outputPath(`${name.replace(/\W+/g, '-')}-${size?.width}x${size?.height}.png`) });
}

/** The boxes of two elements do not overlap. */
async function apart(page: Page, a: string, b: string): Promise<void> {
  const ra = (await page.getByTestId(a).boundingBox())!;
  const rb = (await page.getByTestId(b).boundingBox())!;
  const overlap = ra.x < rb.x + rb.width && rb.x < ra.x + ra.width && ra.y < rb.y + rb.height && rb.y < ra.y + ra.height;
  expect(overlap, `${a} ${JSON.stringify(ra)} overlaps ${b} ${JSON.stringify(rb)}`).toBe(false);
}

/** Import files and wait until the model has read them all. */
async function importAndRead(page: Page, worklist: Worklist, files: string[]): Promise<void> {
  await worklist.importFiles(files);
  await expect(page.getByTestId('analysis-status')).toHaveAttribute('data-state', 'idle', { timeout: 120_000 });
}

test('the sign-off warning describes the findings as they are when Sign is pressed, without a reload', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  test.skip(!fs.existsSync(twoBoxes), `shared image missing: ${twoBoxes}`);
  test.setTimeout(180_000);
  await page.goto(app.url);
  await importAndRead(page, worklist, [twoBoxes]);
  await worklist.open(0);
  const rows = page.getByTestId('finding-row');
  await expect(rows).toHaveCount(2);
  // before any decision: the warning counts both
  await page.getByTestId('sign-button').click();
  await expect(page.getByTestId('sign-confirm-note')).toContainText('2 AI findings have not been accepted or rejected');
  await page.getByRole('button', { name: 'Cancel' }).click();
  // accept one, reject the other, then sign: no warning, and what is signed is what was decided
  await rows.nth(0).getByTestId('finding-accept').click();
  await rows.nth(1).getByTestId('finding-reject').click();
  await page.getByTestId('sign-button').click();
  await expect(page.getByTestId('sign-confirm-note')).toBeVisible();
  await expect(page.getByTestId('sign-confirm-note')).not.toContainText('not been accepted or rejected');
  await page.getByTestId('sign-confirm').click();
  await expect(page.getByTestId('signoff-bar')).toHaveAttribute('data-locked', 'true');
  await page.getByTestId('signed-versions-button').click();
  await expect(page.getByTestId('signed-version-finding')).toHaveCount(1);
});

test('a MONOCHROME1 CR whose file window would wash it out opens with Auto, and says why', async ({ page, app, worklist, viewer }) => {
  test.skip(!fs.existsSync(mono1), `shared image missing: ${mono1}`);
  await page.goto(app.url);
  await worklist.importFiles([mono1]);
  const first = await viewer.nextRender(() => worklist.open(0));
  // Auto (1st–99th percentile of this image's values) rather than the file's W 30000 / L 15000
  expect(first.width).toBeLessThan(25_000);
  await expect(page.getByTestId('wl-preset').locator('option:checked')).toContainText('Auto');
  await expect(page.getByTestId('wl-readout')).toContainText('Auto');
  await expect(page.getByTestId('wl-initial-reason')).toContainText('W 30000 / L 15000');
  await expect(page.getByTestId('wl-initial-reason')).toContainText('washed out');
  // the file's window is one choice away, and Reset comes back to Auto
  await page.getByTestId('wl-preset').selectOption({ index: 0 });
  await expect(page.getByTestId('wl-readout')).toContainText('W: 30000 L: 15000');
  const reset = await viewer.nextRender(() => page.getByTestId('tool-reset').click());
  expect(reset.width).toBe(first.width);
});

test('the worklist flags cases above the threshold in words, filters to them, and a flagged image without a box shows where to look', async ({ page, app, worklist }, info) => {
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  test.skip(!fs.existsSync(noBox) || !fs.existsSync(normal), 'shared images missing');
  test.setTimeout(180_000);
  await page.goto(app.url);
  await importAndRead(page, worklist, [noBox, normal]);
  await expect(worklist.rows()).toHaveCount(2);
  // the flag reads without colour: a word and a mark beside the score
  const flagged = worklist.rows().filter({ has: page.getByTestId('triage-flag') });
  await expect(flagged).toHaveCount(1);
  await expect(flagged.getByTestId('triage-flag')).toHaveText('▲ Flagged');
  await page.getByTestId('worklist-flagged-filter').click();
  await expect(page.getByTestId('worklist-flagged-filter')).toHaveAttribute('aria-pressed', 'true');
  await expect(worklist.rows()).toHaveCount(1);
  await expect(page.getByTestId('worklist-count')).toHaveText('1 case');
  await expect(worklist.rows().first().getByTestId('worklist-score')).toHaveAttribute('data-flagged', 'true');
  await shot(page, info, 'worklist flagged only');
  // opened: the verdict, the reason nothing is boxed, the evidence map switched on for this image
  await worklist.open(0);
  await expect(page.getByTestId('ai-panel')).toHaveAttribute('data-flagged', 'true');
  await expect(page.getByTestId('ai-verdict')).toContainText('Flagged');
  await expect(page.getByTestId('ai-low-confidence')).toContainText('No lesion box reached the model’s display score');
  await expect(page.getByTestId('ai-low-confidence')).toContainText('strongest regions as low-confidence outlines');
  await expect(page.getByTestId('layer-heatmap')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('finding-row')).toHaveCount(0);
  await shot(page, info, 'flagged without a box');
  // the reader's own layer choice is not changed by it: the next image opens with the remembered layers
  const remembered = await page.evaluate(() => localStorage.getItem('cxr.layers'));
  expect(remembered === null || !JSON.parse(remembered).heatmap).toBe(true);
});

test('the AI panel names the same zones as the report for the same box', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  test.skip(!fs.existsSync(twoBoxes), `shared image missing: ${twoBoxes}`);
  test.setTimeout(180_000);
  await page.goto(app.url);
  await importAndRead(page, worklist, [twoBoxes]);
  await worklist.open(0);
  const zones = page.getByTestId('finding-zones');
  await expect(zones).toHaveCount(2);
  await expect(zones.first()).toHaveText(/ · (right|left) .*zones?$/);
  const dock = page.getByTestId('reading-dock');
  if ((await dock.getAttribute('data-open')) !== 'true') await page.getByTestId('reading-dock-toggle').click();
  const report = page.getByTestId('report-text');
  await expect(report).toHaveValue(/FINDINGS/);
  for (const text of await zones.allInnerTexts()) {
    const phrase = text.replace(/^ · /, '');
    await expect(report).toHaveValue(new RegExp(`the ${phrase}`));
  }
});

test('each browser signs in for itself: a second browser with the address lands on the sign-in page', async ({ page, app, browser }) => {
  await page.goto(app.url);
  await expect(page.getByTestId('session-user')).toHaveText(E2E_USERS.radiologist.displayName);
  const other = await browser.newContext();
  try {
    const second = await other.newPage();
    await second.goto(app.url);
    await expect(second.getByTestId('login-form')).toBeVisible();
    await expect(second.getByTestId('worklist')).toHaveCount(0);
    await second.getByTestId('login-username').fill(E2E_USERS.radiologist.username);
    await second.getByTestId('login-password').fill(E2E_PASSWORD);
    await second.getByTestId('login-submit').click();
    await expect(second.getByTestId('session-user')).toHaveText(E2E_USERS.radiologist.displayName);
    // signing out there leaves this browser signed in
    await second.getByTestId('logout-button').click();
    await expect(second.getByTestId('login-form')).toBeVisible();
    await page.reload();
    await expect(page.getByTestId('session-user')).toHaveText(E2E_USERS.radiologist.displayName);
  } finally {
    await other.close();
  }
});

for (const size of SIZES) {
  test.describe(`layout at ${size.width}×${size.height}`, () => {
    test.use({ viewport: size });

    test('first start: the model card stays in its column, beside the form; the new administrator’s last sign-in is shown', async ({ page }, info) => {
      const app = await startApp(undefined, { signIn: 'first-run' });
      try {
        await page.goto(app.url);
        await page.getByTestId('setup-model-card-toggle').click();
        const card = page.getByTestId('model-card');
        await expect(card).toBeVisible();
        await expect(card).not.toContainText('/work/');
        await expect(card).not.toContainText('.py');
        await apart(page, 'station-setup', 'setup-form');
        const column = (await page.getByTestId('station-setup').boundingBox())!;
        const inside = (await card.boundingBox())!;
        expect(inside.x + inside.width).toBeLessThanOrEqual(column.x + column.width + 1);
        // and nothing in the card runs out of it sideways (a long checksum, a table)
        expect(await card.evaluate((el) => [...el.querySelectorAll('p, li, h3, code')].every((c) => c.getBoundingClientRect().right <= el.getBoundingClientRect().right + 1))).toBe(true);
        // the whole of the summary can be reached: its top is on screen
        expect(column.y).toBeGreaterThanOrEqual(0);
        await shot(page, info, 'first start');
        await page.getByTestId('setup-username').fill('chief');
        await page.getByTestId('setup-name').fill('Chief Admin');
        await page.getByTestId('setup-password').fill('chief-password-1');
        await page.getByTestId('setup-password2').fill('chief-password-1');
        await page.getByTestId('setup-submit').click();
        await page.getByTestId('manage-users').click();
        await expect(page.getByTestId('user-row').first().getByTestId('user-last-login')).not.toHaveText('—');
        await shot(page, info, 'accounts');
      } finally {
        await stopApp(app);
      }
    });

    test('worklist, viewer and sign-off: nothing cut off, covered or jumping', async ({ page, app, worklist, viewer }, info) => {
      test.skip(!fs.existsSync(twoBoxes), `shared image missing: ${twoBoxes}`);
      test.setTimeout(180_000);
      await page.goto(app.url);
      if (fs.existsSync(pack)) await importAndRead(page, worklist, [twoBoxes]);
      else await worklist.importFiles([twoBoxes]);
      // the sorted AI score header shows whole
      await page.getByTestId('worklist-header-aiScore').click();
      const header = page.getByTestId('worklist-header-aiScore');
      await expect(header).toHaveAttribute('aria-sort', /ascending|descending/);
      expect(await header.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
      await shot(page, info, 'worklist sorted by AI score');

      await viewer.nextRender(() => worklist.open(0));
      await expect(page.getByTestId('editor-toolbar')).toBeVisible();
      // picking a paint tool keeps the toolbar's height, so the image does not re-fit
      const bar = (await page.getByTestId('editor-toolbar').boundingBox())!;
      const canvas = (await viewer.canvas().boundingBox())!;
      await page.getByTestId('tool-brush').click();
      await expect(page.getByTestId('mask-target')).toBeVisible();
      expect((await page.getByTestId('editor-toolbar').boundingBox())!.height).toBe(bar.height);
      expect(await viewer.canvas().boundingBox()).toEqual(canvas);
      await shot(page, info, 'viewer with the brush');

      // redo brings a deleted box back selected
      await page.getByTestId('tool-select').click();
      const row = page.getByTestId('finding-row').first();
      if ((await row.count()) > 0) {
        await row.getByTestId('finding-reject').click();
        await page.getByTestId('edit-undo').click();
        await page.getByTestId('edit-redo').click();
        await expect(row).toHaveClass(/selected/);
      }
      await page.getByTestId('tool-box').click();
      const c = canvas;
      await page.mouse.move(c.x + c.width * 0.3, c.y + c.height * 0.3);
      await page.mouse.down();
      await page.mouse.move(c.x + c.width * 0.38, c.y + c.height * 0.38, { steps: 6 });
      await page.mouse.up();
      const added = page.locator('[data-testid="finding-row"][data-source="user"]');
      await expect(added).toHaveCount(1);
      await page.getByTestId('edit-undo').click();
      await expect(added).toHaveCount(0);
      await page.getByTestId('edit-redo').click();
      await expect(added).toHaveCount(1);
      await expect(added).toHaveClass(/selected/);
      await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved');

      // signed, then exported: the export's message does not cover the sign-off bar's buttons
      await page.getByTestId('sign-button').click();
      await page.getByTestId('sign-confirm').click();
      await expect(page.getByTestId('amend-button')).toBeVisible();
      await page.getByTestId('export-button').click();
      const download = page.waitForEvent('download');
      await page.getByTestId('export-json').click();
      await download;
      await expect(page.getByTestId('export-result')).toBeVisible();
      await apart(page, 'export-result', 'amend-button');
      await apart(page, 'export-result', 'signed-versions-button');
      await shot(page, info, 'signed and exported');

      // a reload opens the same case again
      await page.reload();
      await expect(page.getByTestId('viewer')).toBeVisible();
      await expect(page.getByTestId('signoff-bar')).toHaveAttribute('data-locked', 'true');
    });
  });
}
