// cxr ask on the tiny random-weight pack (skipped without python3 + torch): answer, type and evidence as JSON; usage
// and file errors; and the language block that cxr eval adds (report BLEU/ROUGE-L, closed-question accuracy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAsk } from './ask';
import { runEval } from './analyze';
import { tinyPack } from '../core/inference/testPack';
import { modelArgs, needsModel, notAnImage, runCli, shenzhenImage, shenzhenManifest } from '../testing/cli';

test('cxr ask --json: answer, type and evidence; closed answers begin with Yes or No; out of scope is declined', { skip: needsModel() }, async () => {
  const img = shenzhenImage();
  const base = modelArgs('cpu');
  let r = await runCli(runAsk, [img, 'Is the left lung affected?', ...base]);
  assert.equal(r.code, 0, r.errs.join('\n'));
  let a = r.json();
  assert.equal(a.type, 'closed');
  assert.match(a.answer, /^(Yes|No)\b/);
  assert.ok(Array.isArray(a.evidence.findings) && Array.isArray(a.evidence.zones));
  assert.equal(a.model.name, 'tiny-test');

  r = await runCli(runAsk, [img, 'what', 'is', 'the', 'tb', 'score', ...base]);
  assert.equal(r.code, 0);
  a = r.json();
  assert.equal(a.type, 'open');
  assert.match(a.answer, /^The AI TB score is \d+\.\d+ of 100/);
  assert.equal(typeof a.evidence.tbScore, 'number');

  r = await runCli(runAsk, [img, 'Is there a rib fracture?', ...base]);
  assert.equal(r.code, 0);
  a = r.json();
  assert.equal(a.type, 'unsupported');
  assert.match(a.answer, /^The model does not assess fractures/);
});

test('cxr ask: usage errors and unreadable files', async () => {
  let r = await runCli(runAsk, ['only-a-file.png']);
  assert.equal(r.code, 2);
  assert.match(r.errs[0], /no question given/);
  r = await runCli(runAsk, []);
  assert.equal(r.code, 2);
  assert.match(r.errs[0], /no image file given/);
  if (!tinyPack().dir) return;
  r = await runCli(runAsk, [notAnImage('cxr-ask-'), 'is there tb', ...modelArgs()]);
  assert.equal(r.code, 1);
  assert.equal(r.json().error.code, 'NOT_AN_IMAGE');
});

test('cxr eval reports report metrics and closed-question accuracy beside the paper\'s', { skip: needsModel() }, async () => {
  const r = await runCli(runEval, ['--manifest', shenzhenManifest, '--split', 'test', '--limit', '6', ...modelArgs()]);
  assert.equal(r.code, 0, r.errs.join('\n'));
  const lang = r.json().language;
  assert.equal(lang.reports.n, 6);
  assert.match(lang.reports.tokenisation, /lower case/);
  for (const k of ['impression', 'fullDraft', 'readingStyleSummary']) {
    assert.ok(lang.reports[k].bleu4 >= 0 && lang.reports[k].bleu4 <= 1, k);
    assert.ok(lang.reports[k].rougeL >= 0 && lang.reports[k].rougeL <= 1, k);
  }
  assert.equal(lang.reports.paper.bleu4, 0.413);
  assert.ok(lang.vqa.n >= 6);
  assert.ok(lang.vqa.accuracy >= 0 && lang.vqa.accuracy <= 1);
  assert.equal(lang.vqa.notYesNo, 0);
  assert.equal(lang.vqa.paper.closedAccuracy, 0.9895);
});
