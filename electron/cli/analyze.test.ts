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
