// cxr analyze / cxr eval on the tiny random-weight pack (skipped without python3 + torch) and the shared data sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAnalyze, runEval } from './analyze';
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

test('cxr analyze --json: one line per file, errors as lines, non-zero exit', { skip }, async () => {
  const row = JSON.parse(fs.readFileSync(shenzhen, 'utf8').split('\n')[0]);
  const img = path.join(DATA, 'shenzhen', row.image);
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-cli-')), 'notes.png');
  fs.writeFileSync(bad, 'not an image');
  const c = capture();
  const code = await runAnalyze([img, bad, '--json', '--model', fx.dir!, '--ep', 'cpu', '--threads', '1'], c.out);
  assert.equal(code, 1);
  assert.equal(c.lines.length, 2);
  const ok = JSON.parse(c.lines[0]);
  assert.equal(ok.file, img);
  for (const k of ['tbScore', 'probabilities', 'label', 'boxes', 'lungs', 'zones', 'timingsMs', 'model']) assert.ok(k in ok, k);
  assert.deepEqual(ok.model, { name: 'tiny-test', version: '0.0.1', ep: 'cpu' });
  assert.ok(ok.timingsMs.decode > 0);
  const err = JSON.parse(c.lines[1]);
  assert.equal(err.file, bad);
  assert.equal(err.error.code, 'NOT_AN_IMAGE');
});

test('cxr analyze: a missing model pack is an error line with MODEL_MISSING', async () => {
  const c = capture();
  const code = await runAnalyze(['x.png', '--json', '--model', '/nonexistent/pack'], c.out);
  assert.equal(code, 2);
  assert.equal(JSON.parse(c.lines[0]).error.code, 'MODEL_MISSING');
});

test('cxr eval --json on a few rows of a manifest', { skip }, async () => {
  const c = capture();
  const code = await runEval(['--manifest', shenzhen, '--split', 'val', '--limit', '4', '--json', '--model', fx.dir!, '--threads', '1'], c.out);
  assert.equal(code, 0, c.errs.join('\n'));
  const rep = JSON.parse(c.lines[0]);
  assert.equal(rep.split, 'val');
  assert.ok(rep.pooled.classification.n > 0 && rep.pooled.classification.n <= 4);
  assert.ok(rep.sources.shenzhen);
  assert.ok(rep.pooled.segmentation === null || rep.pooled.segmentation.n >= 1);
});
