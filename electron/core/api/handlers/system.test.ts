import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Workstation } from '../index';
import { defaultPackDir } from '../../inference/index';
import { executionView, modelPackView } from './system';
import { cardForReaders } from '../../inference/card';
import { tempDbPath, tempDir } from '../../../testing/index';
import type { SystemStatus } from '../../../contract/index';

async function status(ws: Workstation): Promise<SystemStatus> {
  const r = await ws.dispatch('system:status', {});
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as SystemStatus;
}

test('system:status: data folder, the model pack verified by checksum with its card, the provider that runs it', async (t) => {
  const dbPath = tempDbPath();
  const ws = new Workstation({ dbPath, transport: 'http', modelDir: defaultPackDir(), ep: 'cpu', dbSource: 'chosen' });
  t.after(() => ws.close());
  // While the model loads, the provider is "loading", not an error.
  const early = await status(ws);
  assert.equal(early.execution.loading, true);
  assert.equal(early.execution.fallbackReason, null);
  await ws.analysisReady;
  // Answered before the first administrator exists: the first-run screen needs it.
  const s = await status(ws);
  assert.equal(s.appName, 'CXR Workstation');
  assert.equal(s.transport, 'http');
  assert.deepEqual({ ...s.dataFolder, freeBytes: null }, { dataDir: path.dirname(dbPath), dbPath, source: 'chosen', freeBytes: null });
  assert.ok((s.dataFolder.freeBytes ?? 0) > 0);
  assert.equal(s.model.status, 'verified');
  assert.equal(s.model.name, 'cxr-tb-v1');
  assert.match(s.model.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(s.model.sha256, s.model.expectedSha256);
  assert.equal(s.model.bytes, fs.statSync(path.join(defaultPackDir(), 'model.onnx')).size);
  assert.equal(s.model.card, cardForReaders(fs.readFileSync(path.join(defaultPackDir(), 'MODEL_CARD.md'), 'utf8')));
  // what a clinician reads: what the model is for, its data by name and origin, its performance and limits; never a
  // source file, a folder of the machine the pack was built on, or the engineers' training notes
  const card = s.model.card ?? '';
  for (const section of ['## Intended use', '## Data and splits', '## Metrics', '## Known limits']) assert.ok(card.includes(section), section);
  assert.match(card, /TBX11K \(Liu et al\., CVPR 2020\)/);
  assert.match(card, /US National Library of\s+Medicine/);
  assert.doesNotMatch(card, /\/work\/|\/tmp\/|\/home\/|models\/training|\b[\w-]+\.(py|ts|mjs|sh|jsonl?|pt)\b|## Preprocessing|## Parity|## Which run/);
  assert.equal(s.model.error, null);
  assert.deepEqual(s.execution, { active: 'cpu', requested: 'cpu', fallbackReason: null, gpuCandidate: process.platform === 'linux' ? 'cuda' : process.platform === 'win32' ? 'dml' : null, loading: false });
});

test('system:status: a replaced model file is reported with both checksums, and analysis stays off', async (t) => {
  const pack = tempDir();
  for (const f of fs.readdirSync(defaultPackDir())) if (fs.statSync(path.join(defaultPackDir(), f)).isFile()) fs.copyFileSync(path.join(defaultPackDir(), f), path.join(pack, f));
  const model = path.join(pack, 'model.onnx');
  const bytes = fs.readFileSync(model);
  bytes[100] ^= 1;
  fs.writeFileSync(model, bytes);
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http', modelDir: pack });
  t.after(() => ws.close());
  await ws.analysisReady;
  const s = await status(ws);
  assert.equal(s.model.status, 'failed');
  assert.equal(s.model.error?.code, 'MODEL_CORRUPT');
  assert.match(s.model.error?.message ?? '', /does not match the checksum in manifest\.json .*copy the pack again/);
  assert.equal(s.model.sha256, null);
  assert.match(s.model.expectedSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(s.model.name, 'cxr-tb-v1');
  assert.equal(s.execution.active, null);
  assert.match(s.execution.fallbackReason ?? '', /checksum/);
  assert.equal(s.dataFolder.source, 'argument');
});

test('system:status without a model pack, and request validation', async (t) => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'ipc' });
  t.after(() => ws.close());
  const s = await status(ws);
  assert.equal(s.model.status, 'none');
  assert.equal(s.model.error?.code, 'MODEL_MISSING');
  assert.equal(s.transport, 'ipc');
  const bad = await ws.dispatch('system:status', 'x');
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'BAD_REQUEST');
});

test('model pack view: missing folder, unreadable manifest', () => {
  assert.equal(modelPackView(path.join(tempDir(), 'nope')).error?.code, 'MODEL_MISSING');
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{');
  const v = modelPackView(dir);
  assert.equal(v.status, 'failed');
  assert.equal(v.error?.code, 'MODEL_CORRUPT');
  assert.match(v.error?.message ?? '', /not valid JSON/);
});

test('execution view: the platform’s GPU candidate, and the reason a GPU is not used', () => {
  const progress = { pending: 0, done: 0, failed: 0, currentImageId: null, model: null, modelError: null };
  assert.equal(executionView(progress, null, false, 'win32').gpuCandidate, 'dml');
  assert.equal(executionView(progress, null, false, 'linux').gpuCandidate, 'cuda');
  assert.equal(executionView(progress, null, false, 'darwin').gpuCandidate, null);
  const v = executionView(progress, { ep: 'cpu', requested: 'auto', fallbackReason: 'the CUDA provider libraries are not installed' }, false, 'linux');
  assert.deepEqual(v, { active: 'cpu', requested: 'auto', fallbackReason: 'the CUDA provider libraries are not installed', gpuCandidate: 'cuda', loading: false });
  const missing = { ...progress, modelError: { code: 'MODEL_MISSING', message: 'No model pack is configured' } };
  assert.deepEqual(executionView(missing, null, true, 'linux'), { active: null, requested: null, fallbackReason: null, gpuCandidate: 'cuda', loading: true }, 'while loading, no reason is invented');
});
