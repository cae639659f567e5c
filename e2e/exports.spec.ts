// Exports from the viewer, as a reader uses them: open a case, pick a format from the Export menu, get the file as a
// download; the files are read back by independent tools (poppler's pdftotext, dicom3tools' dciodvfy).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, datasetsDir } from './fixtures';

const sample = path.join(datasetsDir, 'dicom_samples', 'siim_cr_chest_pa_jpegbaseline.dcm');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

test('the Export menu saves the open case as a PDF report marked as a draft and as a valid DICOM SR', async ({ page, app, worklist }) => {
  test.skip(!fs.existsSync(sample), `the shared DICOM samples are not at ${path.dirname(sample)}`);
  await page.goto(app.url);
  await worklist.importFiles([sample]);
  await expect(worklist.rows()).toHaveCount(1);
  await worklist.open(0);
  await expect(page.getByTestId('viewer')).toBeVisible();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-exports-'));

  await page.getByTestId('export-button').click();
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-pdf').click()]);
  expect(pdf.suggestedFilename()).toMatch(/_report\.pdf$/);
  const pdfFile = path.join(dir, pdf.suggestedFilename());
  await pdf.saveAs(pdfFile);
  expect(fs.readFileSync(pdfFile).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  await expect(page.getByTestId('export-result')).toContainText('Saved');
  await expect(page.getByTestId('export-result')).toContainText('not signed');
  if (has('pdftotext')) {
    const text = spawnSync('pdftotext', [pdfFile, '-'], { encoding: 'utf8' }).stdout;
    expect(text).toContain('DRAFT — not signed');
    expect(text).toContain('16d7f894-55d7-4d95-8957-d18987f0e981');
  }

  await page.getByTestId('export-button').click();
  const [sr] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-sr').click()]);
  const srFile = path.join(dir, sr.suggestedFilename());
  await sr.saveAs(srFile);
  expect(fs.readFileSync(srFile).subarray(128, 132).toString('latin1')).toBe('DICM');
  if (has('dciodvfy')) {
    const r = spawnSync('dciodvfy', [srFile], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.split('\n').filter((l) => l.startsWith('Error'))).toEqual([]);
  }
});
