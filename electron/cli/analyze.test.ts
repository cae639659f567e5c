// cxr analyze / cxr eval on the tiny random-weight pack (skipped without python3 + torch) and the shared data sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAnalyze, runEval } from './analyze';
import { modelArgs, needsModel, notAnImage, runCli, shenzhenImage, shenzhenManifest } from '../testing/cli';

test('cxr analyze --json: one line per file, errors as lines, non-zero exit', { skip: needsModel() }, async () => {
  const img = shenzhenImage();
  const bad = notAnImage('cxr-cli-');
  const r = await runCli(runAnalyze, [img, bad, ...modelArgs('cpu')]);
  assert.equal(r.code, 1);
  assert.equal(r.lines.length, 2);
  const ok = r.json(0);
  assert.equal(ok.file, img);
  for (const k of ['tbScore', 'probabilities', 'label', 'boxes', 'lungs', 'zones', 'timingsMs', 'model']) assert.ok(k in ok, k);
  assert.deepEqual(ok.model, { name: 'tiny-test', version: '0.0.1', ep: 'cpu' });
  assert.ok(ok.timingsMs.decode > 0);
  const err = r.json(1);
  assert.equal(err.file, bad);
  assert.equal(err.error.code, 'NOT_AN_IMAGE');
});

test('cxr analyze: a missing model pack is an error line with MODEL_MISSING', async () => {
  const r = await runCli(runAnalyze, ['x.png', '--json', '--model', '/nonexistent/pack']);
  assert.equal(r.code, 2);
  assert.equal(r.json().error.code, 'MODEL_MISSING');
});

test('cxr eval --json on a few rows of a manifest', { skip: needsModel() }, async () => {
  const r = await runCli(runEval, ['--manifest', shenzhenManifest, '--split', 'val', '--limit', '4', ...modelArgs()]);
  assert.equal(r.code, 0, r.errs.join('\n'));
  const rep = r.json();
  assert.equal(rep.split, 'val');
  assert.ok(rep.pooled.classification.n > 0 && rep.pooled.classification.n <= 4);
  assert.ok(rep.sources.shenzhen);
  assert.ok(rep.pooled.segmentation === null || rep.pooled.segmentation.n >= 1);
});

test('cxr eval --source scores only that source, every split unless one is named; an unknown source is refused', { skip: needsModel() }, async () => {
  const daDb = shenzhenManifest.replace(/shenzhen([/\\])manifest\.jsonl$/, 'tbx11k_extra_da_db$1manifest.jsonl');
  const r = await runCli(runEval, ['--manifest', shenzhenManifest, '--manifest', daDb, '--source', 'shenzhen', '--limit', '40', ...modelArgs()]);
  assert.equal(r.code, 0, r.errs.join('\n'));
  const rep = r.json();
  assert.equal(rep.split, 'all');
  assert.deepEqual(Object.keys(rep.sources), ['shenzhen']);
  assert.equal(rep.pooled.classification.n, 40, 'the first 40 rows of the manifest, whatever their split');
  const c = rep.pooled.classification;
  if (c.auc === null) assert.equal(c.auc95, null, 'no interval without both classes');
  else assert.ok(c.auc95[0] <= c.auc && c.auc <= c.auc95[1]);
  const v = await runCli(runEval, ['--manifest', shenzhenManifest, '--source', 'shenzhen', '--split', 'val', '--limit', '4', ...modelArgs()]);
  assert.equal(v.json().split, 'val');
  const bad = await runCli(runEval, ['--manifest', shenzhenManifest, '--source', 'montgomery', ...modelArgs()]);
  assert.equal(bad.code, 2);
  assert.equal(bad.json().error.code, 'BAD_REQUEST');
  assert.match(bad.json().error.message, /montgomery/);
});
