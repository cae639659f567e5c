// The report and the question box beside the image: a draft appears for an analysed image and follows the
// findings; the reader's edited text sticks across a reload; a change of findings then shows a notice and a
// one-click re-draft; questions get yes/no answers with their evidence, and out-of-scope ones are declined.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, datasetsDir, repoRoot, apiCall, type AppServer } from './fixtures';
import type { Page } from '@playwright/test';

const pack = path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1', 'manifest.json');
const tbImage = path.join(datasetsDir, 'tbx11k', 'images', 'tb0004.png');

/** The report panel and question box (page object). */
class ReportPanel {
  constructor(readonly page: Page) {}
  async open() {
    const dock = this.page.getByTestId('reading-dock');
    if ((await dock.getAttribute('data-open')) !== 'true') await this.page.getByTestId('reading-dock-toggle').click();
    await expect(this.panel()).toBeVisible();
  }
  panel() {
    return this.page.getByTestId('report-panel');
  }
  text() {
    return this.page.getByTestId('report-text');
  }
  async ask(question: string) {
    const before = await this.page.getByTestId('vqa-item').count();
    await this.page.getByTestId('vqa-input').fill(question);
    await this.page.getByTestId('vqa-ask').click();
    await expect(this.page.getByTestId('vqa-item')).toHaveCount(before + 1);
    return this.page.getByTestId('vqa-item').first();
  }
}

interface AnnotationState {
  imageId: number;
  caseId: number;
  version: number;
  findings: { id: string; state: string; [k: string]: unknown }[];
}

/** Save the annotations as the editor would (the page hears annotations:onSaved). */
async function saveFindings(app: AppServer, imageId: number, change: (s: AnnotationState) => AnnotationState['findings']) {
  const s = await apiCall<AnnotationState>(app, 'annotations:get', { imageId });
  await apiCall(app, 'annotations:save', { imageId, baseVersion: s.version, findings: change(s), masks: [] });
}

const leftLungBox = { id: 'e2e-left', kind: 'box', x: 330, y: 300, w: 70, h: 60, label: 'ActiveTuberculosis', provenance: { source: 'user' }, state: 'added' };

test('draft from the findings, edited text that sticks, stale notice and re-draft, questions with evidence', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(pack), 'no model pack in models/packs/cxr-tb-v1');
  test.skip(!fs.existsSync(tbImage), 'shared images missing');
  await page.goto(app.url);
  await worklist.importFiles([tbImage]);
  await expect(page.getByTestId('analysis-status')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(worklist.rows().filter({ hasText: 'Analyzed' })).toHaveCount(1, { timeout: 30_000 });
  await worklist.open(0);
  await expect(page.getByTestId('ai-panel')).toHaveAttribute('data-state', 'done');
  const { rows } = await apiCall<{ rows: { caseId: number }[] }>(app, 'cases:list', {});
  const caseId = rows[0].caseId;
  const imageId = (await apiCall<{ images: { imageId: number }[] }>(app, 'cases:get', { caseId })).images[0].imageId;

  const report = new ReportPanel(page);
  await report.open();
  // the draft, written from the model's reading of a PNG (which states no view)
  await expect(report.panel()).toHaveAttribute('data-source', 'draft');
  await expect(report.text()).toHaveValue(/^TECHNIQUE\nFrontal chest radiograph; PA\/AP view not stated\./);
  // the threshold printed is the shipped pack's (one decimal, two where a score would round to it)
  const threshold: number = JSON.parse(fs.readFileSync(pack, 'utf8')).operating_point.tb_score_threshold;
  const thr = `(${threshold.toFixed(1)}|${threshold.toFixed(2)})`.replace(/\./g, '\\.');
  await expect(report.text()).toHaveValue(new RegExp(`\\nAI TB SCORE\\n\\d+\\.\\d+ of 100, (at or above|below) the operating threshold of ${thr} \\(model cxr-tb-v1 `));

  // the draft follows the findings: a box the reader adds in the left lung appears in it
  await saveFindings(app, imageId, (s) => [...s.findings, leftLungBox]);
  await expect(report.text()).toHaveValue(/FINDINGS\n[^\n]*in the left (upper|middle|lower)/);
  await expect(report.panel()).toHaveAttribute('data-source', 'draft');

  // a question answered yes, with the finding it rests on
  const yes = await report.ask('is the left lung affected?');
  await expect(yes.getByTestId('vqa-answer')).toHaveText(/^Yes\b/);
  await expect(yes.getByTestId('vqa-evidence-finding').filter({ hasText: 'drawn by the reader' })).toHaveCount(1);
  await expect(yes.getByTestId('vqa-evidence-finding').first()).toContainText('left');
  // a typo'd paraphrase of a closed question is still a yes/no answer
  const typo = await report.ask('is the rigth lung afected');
  await expect(typo.getByTestId('vqa-answer')).toHaveText(/^(Yes|No)\b/);
  // out of scope: declined, never guessed
  const declined = await report.ask('Does the patient have a pacemaker?');
  await expect(declined).toHaveAttribute('data-type', 'unsupported');
  await expect(declined.getByTestId('vqa-answer')).toHaveText(/^The model does not assess devices/);

  // the reader edits the text and saves it: it sticks across a reload
  const marker = 'Reviewed with the clinical team on the ward.';
  await report.text().fill(`${await report.text().inputValue()}\n\n${marker}`);
  await expect(page.getByTestId('report-status')).toHaveText('Unsaved changes.');
  await page.getByTestId('report-save').click();
  await expect(page.getByTestId('report-status')).toContainText('Saved by Dr Rita Radiologist');
  await expect(report.panel()).toHaveAttribute('data-source', 'edited');
  await page.reload();
  // the case that was open opens again by itself
  await expect(page.getByTestId('viewer')).toBeVisible();
  await report.open();
  await expect(report.text()).toHaveValue(new RegExp(`${marker}$`));
  await expect(report.panel()).toHaveAttribute('data-source', 'edited');
  await expect(page.getByTestId('report-stale')).toHaveCount(0);

  // the findings change after the edit: a notice, the text untouched
  await saveFindings(app, imageId, (s) => s.findings.map((f) => (f.id === leftLungBox.id ? { ...f, state: 'rejected' } : f)));
  await expect(page.getByTestId('report-stale')).toBeVisible();
  await expect(report.text()).toHaveValue(new RegExp(`${marker}$`));
  // one click re-drafts from the current findings, and the draft follows them again
  await page.getByTestId('report-redraft').click();
  await expect(page.getByTestId('report-stale')).toHaveCount(0);
  await expect(report.panel()).toHaveAttribute('data-source', 'draft');
  await expect(report.text()).not.toHaveValue(new RegExp(marker));
  const versions = await apiCall<{ versions: { version: number; source: string; author: string }[] }>(app, 'report:versions', { caseId });
  expect(versions.versions.map((v) => [v.source, v.author])).toEqual([
    ['draft', 'Dr Rita Radiologist'],
    ['edited', 'Dr Rita Radiologist'],
  ]);
});
