// Site calibration as an administrator does it: reference results imported from a CSV file after a preview, the
// ROC plot of the model on the confirmed cases, a site threshold set from the calibration view that changes the
// worklist's flags, and one click back to the pack's default.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, datasetsDir, repoRoot, apiCall, startApp, stopApp, type AppServer } from './fixtures';

const pack = path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1', 'manifest.json');
const manifest = path.join(datasetsDir, 'shenzhen', 'manifest.jsonl');

/** Two TB and two normal images of the Shenzhen set. */
function images(): { file: string; tb: boolean }[] {
  if (!fs.existsSync(manifest)) return [];
  const rows = fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { image: string; label: string });
  const pick = (label: string) => rows.filter((r) => r.label === label).slice(0, 2).map((r) => ({ file: path.join(datasetsDir, 'shenzhen', r.image), tb: label === 'tb' }));
  return [...pick('tb'), ...pick('normal')];
}

/** The site calibration dialog (page object). */
class SiteDialog {
  constructor(readonly page: Page) {}
  async open() {
    await this.page.getByTestId('site-button').click();
    await expect(this.page.getByTestId('site-dialog')).toBeVisible();
  }
  async close() {
    await this.page.getByTestId('site-close').click();
    await expect(this.page.getByTestId('site-dialog')).toHaveCount(0);
  }
  tab(name: 'calibration' | 'import' | 'head' | 'history' | 'drift') {
    return this.page.getByTestId(`site-tab-${name}`).click();
  }
}

const flagged = (page: Page) => page.locator('[data-testid="worklist-row"][data-flagged="true"]');

let app: AppServer;
test.beforeEach(async ({ page }) => {
  // the station's session and the page's browser both sign in (each browser has a session of its own)
  app = await startApp(undefined, { signIn: 'administrator', page });
});
test.afterEach(async () => {
  await stopApp(app);
});

test('import results with a preview, see the ROC plot, set a site threshold, watch the flags change, roll back', async ({ page, worklist }) => {
  const imgs = images();
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  test.skip(imgs.length < 4 || imgs.some((i) => !fs.existsSync(i.file)), 'shared Shenzhen images missing');
  await page.goto(app.url);
  await worklist.importFiles(imgs.map((i) => i.file));
  await expect(page.getByTestId('analysis-status')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(worklist.rows().filter({ hasText: 'Analyzed' })).toHaveCount(4, { timeout: 30_000 });
  await expect(page.getByTestId('worklist-threshold')).toContainText('pack default');

  // The lab's results, keyed by the patient IDs the station gave the PNG imports (one case each, so no study date).
  const { rows } = await apiCall<{ rows: { caseId: number; patientId: string; description: string | null; aiScore: number; flagged: boolean }[] }>(app, 'cases:list', { limit: 10 });
  const tbOf = (r: { description: string | null }) => imgs.find((i) => path.basename(i.file) === r.description)!.tb;
  const csv = ['patientId,studyDate,test,result,date,note', ...rows.map((r) => `${r.patientId},,Xpert MTB/RIF,${tbOf(r) ? 'MTB detected' : 'MTB not detected'},2026-01-20,"lab, batch 1"`), 'ANON-NOSUCHCASE,,xpert,detected,2026-01-20,'].join('\n');
  const csvFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-csv-')), 'lab-results.csv');
  fs.writeFileSync(csvFile, csv);

  const site = new SiteDialog(page);
  await site.open();
  await site.tab('import');
  await page.getByTestId('site-import-file').setInputFiles(csvFile);
  await expect(page.getByTestId('site-preview-counts')).toContainText('4 new');
  await expect(page.getByTestId('site-preview-row').and(page.locator('[data-status="unmatched"]'))).toHaveCount(1);
  // an unmatched row blocks the import until it is left out on purpose
  await expect(page.getByTestId('site-import')).toBeDisabled();
  await page.getByTestId('site-import-skip').check();
  await expect(page.getByTestId('site-import')).toBeEnabled();
  await page.getByTestId('site-import').click();
  await expect(page.getByTestId('site-import-done')).toContainText('4 results imported from lab-results.csv');
  // the same file again: everything is already stored
  await expect(page.getByTestId('site-preview-counts')).toContainText('0 new, 4 already stored');

  // the ROC plot of the model on the four confirmed cases, with the WHO triage point and the warning for few cases
  await site.tab('calibration');
  await expect(page.getByTestId('site-counts')).toContainText('2 TB-positive and 2 TB-negative');
  await expect(page.getByTestId('roc-plot')).toBeVisible();
  await expect(page.getByTestId('roc-base')).toHaveAttribute('d', /^M\S+ L/);
  await expect(page.getByTestId('roc-who')).toBeVisible();
  await expect(page.getByTestId('site-auc')).toContainText(/AUC \d\.\d{3} \(95 % interval/);
  await expect(page.getByTestId('site-warning').first()).toContainText('below 20 of each');
  await expect(page.getByTestId('site-table-row').first()).toBeVisible();

  // a threshold that changes the flags: above every score if all are flagged now, else just below the lowest
  const before = rows.filter((r) => r.flagged).length;
  const scores = rows.map((r) => r.aiScore);
  const threshold = before === rows.length ? Math.min(100, Math.ceil(Math.max(...scores) * 100) / 100 + 0.01) : Math.max(0, Math.floor(Math.min(...scores) * 100) / 100 - 0.01);
  const expected = before === rows.length ? 0 : rows.length;
  await page.getByTestId('site-threshold-input').fill(String(threshold));
  await expect(page.getByTestId('roc-candidate')).toHaveCount(1);
  await page.getByTestId('site-set-threshold').click();
  await expect(page.getByTestId('site-note')).toContainText(/Site threshold .* in force \(version \d+\)/);
  await expect(page.getByTestId('site-in-force')).toHaveAttribute('data-source', 'site');
  await site.close();
  await expect(page.getByTestId('worklist-threshold')).toContainText('site calibration version');
  await expect(flagged(page)).toHaveCount(expected);

  // the viewer: the case's reference results beside the report, and the AI panel's threshold with its origin
  await worklist.open(0);
  const dock = page.getByTestId('reading-dock');
  if ((await dock.getAttribute('data-open')) !== 'true') await page.getByTestId('reading-dock-toggle').click();
  await expect(page.getByTestId('reference-result')).toHaveCount(1);
  await expect(page.getByTestId('reference-truth')).toHaveAttribute('data-status', /positive|negative/);
  await expect(page.getByTestId('ai-threshold-origin')).toContainText('site calibration version');
  await page.getByTestId('viewer-back').click();

  // one click back to the pack's default; the history keeps both versions
  await site.open();
  await page.getByTestId('site-rollback').click();
  await expect(page.getByTestId('site-in-force')).toHaveAttribute('data-source', 'pack');
  await site.tab('history');
  await expect(page.getByTestId('site-history-row')).toHaveCount(2);
  await site.close();
  await expect(page.getByTestId('worklist-threshold')).toContainText('pack default');
  await expect(flagged(page)).toHaveCount(before);
});
