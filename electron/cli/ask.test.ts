// cxr ask on the tiny random-weight pack (skipped without python3 + torch): answer, type and evidence as JSON; usage
// and file errors; and the language block that cxr eval adds (report BLEU/ROUGE-L, closed-question accuracy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsk } from './ask';
import { runEval } from './analyze';
import { tinyPack } from '../core/inference/testPack';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DATA = path.resolve(ROOT, '..', 'shared', 'datasets');
const fx = tinyPack();
const shenzhen = path.join(DATA, 'shenzhen', 'manifest.jsonl');
const skip = !fx.dir ? `tiny pack unavailable: ${fx.reason}` : !fs.existsSync(shenzhen) ? `${shenzhen} not found` : false;

function capture() {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: { log: (s: string) => lines.push(s), err: (s: string) => errs.push(s) } };
}

test('cxr ask --json: answer, type and evidence; closed answers begin with Yes or No; out of scope is declined', { skip }, async () => {
  const row = JSON.parse(fs.readFileSync(shenzhen, 'utf8').split('\n')[0]);
  const img = path.join(DATA, 'shenzhen', row.image);
  const base = ['--json', '--model', fx.dir!, '--ep', 'cpu', '--threads', '1'];
  let c = capture();
  assert.equal(await runAsk([img, 'Is the left lung affected?', ...base], c.out), 0, c.errs.join('\n'));
  let a = JSON.parse(c.lines[0]);
  assert.equal(a.type, 'closed');
  assert.match(a.answer, /^(Yes|No)\b/);
  assert.ok(Array.isArray(a.evidence.findings) && Array.isArray(a.evidence.zones));
  assert.equal(a.model.name, 'tiny-test');

  c = capture();
  assert.equal(await runAsk([img, 'what', 'is', 'the', 'tb', 'score', ...base], c.out), 0);
  a = JSON.parse(c.lines[0]);
  assert.equal(a.type, 'open');
  assert.match(a.answer, /^The AI TB score is \d+\.\d+ of 100/);
  assert.equal(typeof a.evidence.tbScore, 'number');

  c = capture();
  assert.equal(await runAsk([img, 'Is there a rib fracture?', ...base], c.out), 0);
  a = JSON.parse(c.lines[0]);
  assert.equal(a.type, 'unsupported');
  assert.match(a.answer, /^The model does not assess fractures/);
});

test('cxr ask: usage errors and unreadable files', async () => {
  let c = capture();
  assert.equal(await runAsk(['only-a-file.png'], c.out), 2);
  assert.match(c.errs[0], /no question given/);
  c = capture();
  assert.equal(await runAsk([], c.out), 2);
  assert.match(c.errs[0], /no image file given/);
  if (!fx.dir) return;
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-ask-')), 'notes.png');
  fs.writeFileSync(bad, 'not an image');
  c = capture();
  assert.equal(await runAsk([bad, 'is there tb', '--json', '--model', fx.dir, '--threads', '1'], c.out), 1);
  assert.equal(JSON.parse(c.lines[0]).error.code, 'NOT_AN_IMAGE');
});

test('cxr eval reports report metrics and closed-question accuracy beside the paper\'s', { skip }, async () => {
  const c = capture();
  const code = await runEval(['--manifest', shenzhen, '--split', 'test', '--limit', '6', '--json', '--model', fx.dir!, '--threads', '1'], c.out);
  assert.equal(code, 0, c.errs.join('\n'));
  const lang = JSON.parse(c.lines[0]).language;
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
