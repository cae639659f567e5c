// The site domain through the Workstation's dispatcher, with a real (tiny) model pack reading real images: every
// reading stores the pack's embedding; who may do what (results: radiologists and administrators; calibration:
// administrators and lead radiologists); the worklist's flags and the DICOM SR follow the threshold in force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Workstation } from '../index';
import { tinyPack } from '../../inference/testPack';
import { datasetsDir, tempDbPath } from '../../../testing/index';
import { signIn } from '../../../testing/accounts';

const IMAGES = ['CHNCXR_0004_0.png', 'CHNCXR_0010_0.png', 'CHNCXR_0011_0.png'].map((f) => path.join(datasetsDir, 'shenzhen', 'images', f));
const pack = tinyPack();
const skip = !pack.dir ? `tiny pack unavailable: ${pack.reason}` : IMAGES.some((f) => !fs.existsSync(f)) ? 'shared Shenzhen images missing' : false;

async function value<T>(ws: Workstation, name: string, request: unknown = {}): Promise<T> {
  const r = await ws.dispatch(name, request);
  if (!r.ok) throw Object.assign(new Error(`${name}: ${r.error.code}: ${r.error.message}`), { code: r.error.code });
  return r.value as T;
}

async function refused(ws: Workstation, name: string, request: unknown = {}): Promise<string> {
  const r = await ws.dispatch(name, request);
  assert.equal(r.ok, false, `${name} should be refused`);
  return (r as { error: { code: string; message: string } }).error.code;
}

test('readings store the embedding; roles; worklist flags, the AI panel and the SR follow the site threshold; rollback', { skip }, async (t) => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http', modelDir: pack.dir!, ep: 'cpu' });
  t.after(() => ws.close());
  await signIn(ws, 'administrator', 'admin');
  const changes: unknown[] = [];
  ws.on('site:onChanged', (e) => changes.push(e));
  for (const f of IMAGES) await value(ws, 'import:file', { name: path.basename(f), bytes: new Uint8Array(fs.readFileSync(f)) });
  await ws.analysisIdle();

  // every reading keeps the pack's embedding and its base logit
  const manifest = JSON.parse(fs.readFileSync(path.join(pack.dir!, 'manifest.json'), 'utf8'));
  const rows = ws.store.db.prepare('SELECT tb_score, embedding, embedding_dim, base_logit FROM analyses').all() as { tb_score: number; embedding: Buffer; embedding_dim: number; base_logit: number }[];
  assert.equal(rows.length, 3);
  for (const r of rows) {
    assert.equal(r.embedding_dim, manifest.embedding.dim);
    assert.equal(r.embedding.byteLength, 4 * manifest.embedding.dim);
    const p = r.tb_score / 100;
    assert.ok(Math.abs(r.base_logit - Math.log(p / (1 - p))) < 1e-3, `${r.base_logit} vs score ${r.tb_score}`);
  }

  const list = await value<{ rows: { caseId: number; aiScore: number; flagged: boolean; patientId: string }[]; threshold: { value: number; label: string } }>(ws, 'cases:list', { sort: { key: 'aiScore', dir: 'desc' } });
  assert.deepEqual(list.threshold, { value: 50, source: 'pack', version: null, headId: null, label: 'pack default' });
  for (const r of list.rows) assert.equal(r.flagged, r.aiScore >= 50);

  // results: one TB-positive (the highest score), two negatives
  const [top, ...rest] = list.rows;
  await value(ws, 'site:addResult', { caseId: top.caseId, test: 'xpert', result: 'detected', date: '2026-01-20' });
  for (const r of rest) await value(ws, 'site:addResult', { caseId: r.caseId, test: 'culture', result: 'negative', date: '2026-01-20' });

  // a technician may not enter results; a radiologist may, but not calibrate unless marked lead
  await signIn(ws, 'technician', 'tech');
  assert.equal(await refused(ws, 'site:addResult', { caseId: top.caseId, test: 'xpert', result: 'detected', date: '2026-01-20' }), 'FORBIDDEN');
  assert.equal(await refused(ws, 'site:calibration'), 'FORBIDDEN');
  const results = await value<{ truth: { status: string } }>(ws, 'site:results', { caseId: top.caseId });
  assert.equal(results.truth.status, 'positive');
  await signIn(ws, 'radiologist', 'rad');
  assert.equal(await refused(ws, 'site:setThreshold', { choice: { threshold: 10 } }), 'FORBIDDEN');
  await signIn(ws, 'administrator', 'admin');
  const users = await value<{ users: { id: number; username: string }[] }>(ws, 'accounts:listUsers');
  const radId = users.users.find((u) => u.username === 'rad')!.id;
  const techId = users.users.find((u) => u.username === 'tech')!.id;
  assert.equal(await refused(ws, 'accounts:updateUser', { userId: techId, lead: true }), 'BAD_REQUEST');
  await value(ws, 'accounts:updateUser', { userId: radId, lead: true });
  await signIn(ws, 'radiologist', 'rad');
  const session = await value<{ user: { lead: boolean } }>(ws, 'accounts:session');
  assert.equal(session.user.lead, true);

  // the lead radiologist calibrates: a threshold just below the lowest score flags every case
  const report = await value<{ counts: { positive: number; negative: number }; warnings: string[]; base: { auc: unknown; roc: { threshold: number | null }[] } }>(ws, 'site:calibration');
  assert.deepEqual([report.counts.positive, report.counts.negative], [1, 2]);
  assert.match(report.warnings[0], /below 20 of each/);
  assert.equal(report.base.roc[0].threshold, null, 'the nothing-flagged end of the curve travels as null');
  const lowest = Math.min(...list.rows.map((r) => r.aiScore));
  const v = await value<{ version: number; threshold: number }>(ws, 'site:setThreshold', { choice: { threshold: Math.floor(lowest * 100) / 100 } });
  assert.deepEqual(changes, [{ version: v.version }]);
  const after = await value<{ rows: { flagged: boolean }[]; threshold: { source: string; label: string } }>(ws, 'cases:list', {});
  assert.deepEqual([after.threshold.source, after.threshold.label], ['site', `site calibration version ${v.version}`]);
  assert.ok(after.rows.every((r) => r.flagged));
  const analysis = await value<{ analysis: { threshold: number; inForce: { threshold: { value: number; label: string }; flagged: boolean } } }>(ws, 'analysis:get', { imageId: 1 });
  assert.equal(analysis.analysis.threshold, 50, 'the reading keeps the pack default it was made with');
  assert.deepEqual([analysis.analysis.inForce.threshold.value, analysis.analysis.inForce.flagged], [v.threshold, true]);

  // the DICOM SR names the threshold and where it comes from
  const sr = await value<{ bytes: Uint8Array }>(ws, 'exports:build', { caseId: top.caseId, format: 'sr' });
  const text = Buffer.from(sr.bytes).toString('latin1');
  assert.ok(text.includes(`operating threshold ${v.threshold} (TB score; site calibration version ${v.version})`), 'the SR names the site threshold');

  // one click back
  const back = await value<{ version: { kind: string } | null }>(ws, 'site:rollback', {});
  assert.equal(back.version?.kind, 'pack_default');
  const again = await value<{ threshold: { value: number; source: string } }>(ws, 'cases:list', {});
  assert.deepEqual([again.threshold.value, again.threshold.source], [50, 'pack']);
  const srBack = Buffer.from((await value<{ bytes: Uint8Array }>(ws, 'exports:build', { caseId: top.caseId, format: 'sr' })).bytes).toString('latin1');
  assert.ok(srBack.includes('operating threshold 50 (TB score; pack default)'));
  const history = await value<{ versions: { kind: string }[] }>(ws, 'site:history');
  assert.deepEqual(history.versions.map((h) => h.kind), ['pack_default', 'threshold']);
  // a head needs 40 confirmed cases
  assert.equal(await refused(ws, 'site:fitHead'), 'SITE_TOO_FEW_CASES');
  const status = await value<{ pack: { name: string; embeddingDim: number }; rescore: { state: string } }>(ws, 'site:status');
  assert.deepEqual([status.pack.name, status.pack.embeddingDim], ['tiny-test', manifest.embedding.dim]);
});
