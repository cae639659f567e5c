// Integration tests against a real Orthanc (Debian's package) started on loopback ports for this file and stopped
// after it, also on failure: query and retrieve by DIMSE and DICOMweb, sends read back, a connection cut in the
// middle of a send retried exactly once, a queue that survives a restart, and two stations sharing one archive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CaseStore } from '../store/index';
import { importBytes } from '../importing/index';
import { createUser, signCase } from '../accounts/index';
import { saveAnnotationVersion } from '../annotations/index';
import { packBits } from '../exports/index';
import { tempDbPath, tempDir } from '../../testing/index';
import { syntheticDicom } from '../../../bench/synthetic';
import { NetworkService, readIdentity, type QueueTiming } from './index';
import { TestOrthanc, CuttingProxy, freePort, orthancMissing } from './testOrthanc';
import { srInstance } from './testFixtures';

const missing = orthancMissing();
const FAST: QueueTiming = { baseDelayMs: 50, maxDelayMs: 400, maxAttempts: 8 };

let orthanc: TestOrthanc;
let stationPort: number;
const cleanup: (() => Promise<void> | void)[] = [];
const scratch = tempDir('cxr-net-');

before(async () => {
  if (missing) return;
  stationPort = await freePort();
  orthanc = await TestOrthanc.start({ modalities: { station: ['CXRSTATION', '127.0.0.1', stationPort] } });
});
after(async () => {
  for (const c of cleanup.reverse()) await c();
  await orthanc?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function station(opts: { aeTitle?: string; receiverPort?: number; dbPath?: string } = {}) {
  const store = CaseStore.open(opts.dbPath ?? tempDbPath());
  const changed: number[] = [];
  const ns = new NetworkService(store, { casesChanged: (ids) => changed.push(...ids), kickAnalysis: () => {} }, { timing: FAST, timeoutMs: 10_000 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await ns.close();
    store.close();
  };
  cleanup.push(close);
  await ns.start();
  await ns.setSettings({ receiver: { enabled: opts.receiverPort !== undefined, aeTitle: opts.aeTitle ?? 'CXRSTATION', port: opts.receiverPort ?? 104, whitelist: [] }, autoSendOnSign: false });
  // A reopened store keeps its archives.
  const known = (name: string) => ns.repo.listRemotes().find((r) => r.name === name);
  const dimse = known('PACS (DIMSE)') ?? ns.repo.saveRemote({ name: 'PACS (DIMSE)', kind: 'dimse', host: '127.0.0.1', port: orthanc.dicomPort, aeTitle: orthanc.aeTitle, retrieve: 'C-GET', sendResults: true });
  const web = known('PACS (DICOMweb)') ?? (orthanc.dicomweb ? ns.repo.saveRemote({ name: 'PACS (DICOMweb)', kind: 'dicomweb', url: orthanc.dicomwebUrl }) : null);
  return { store, ns, dimse, web, changed, close };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function storescu(port: number, aet: string, files: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('storescu', ['-aet', 'TESTSCU', '-aec', aet, '127.0.0.1', String(port), ...files], { timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(`${out}${errOut}`)) : resolve(out)));
  });
}

test('query and retrieve a study from Orthanc by DIMSE (C-FIND, C-GET, C-MOVE) and by DICOMweb (QIDO-RS, WADO-RS)', { skip: missing ?? false, timeout: 60_000 }, async () => {
  const files = [701, 702].map((seed) => {
    const f = path.join(scratch, `q${seed}.dcm`);
    fs.writeFileSync(f, syntheticDicom(300, 256, seed));
    return f;
  });
  await storescu(orthanc.dicomPort, orthanc.aeTitle, files);
  const id0 = readIdentity(new Uint8Array(fs.readFileSync(files[0])));
  const id1 = readIdentity(new Uint8Array(fs.readFileSync(files[1])));

  const s = await station();
  const byName = await s.ns.query({ remoteId: s.dimse.id, patientName: 'BENCH^SEED70' });
  assert.deepEqual(byName.map((x) => x.studyInstanceUid).sort(), [id0.studyInstanceUid, id1.studyInstanceUid].sort());
  const byId = await s.ns.query({ remoteId: s.dimse.id, patientId: 'BENCH701', dateFrom: '2026-11-01', dateTo: '2026-11-30' });
  assert.equal(byId.length, 1, JSON.stringify(byId));
  assert.equal(byId[0].patientName, 'BENCH^SEED701');
  assert.equal(byId[0].localCaseId, null);
  assert.deepEqual(await s.ns.query({ remoteId: s.dimse.id, patientId: 'BENCH701', dateFrom: '2025-01-01', dateTo: '2025-01-31' }), []);
  await assert.rejects(s.ns.query({ remoteId: s.dimse.id }), /at least a patient name/);

  const got = await s.ns.retrieve(s.dimse.id, id0.studyInstanceUid);
  assert.equal(got.imported, 1, JSON.stringify(got));
  assert.equal(s.store.countCases(), 1);
  assert.deepEqual(got.caseIds, [s.changed[0]]);
  const again = await s.ns.retrieve(s.dimse.id, id0.studyInstanceUid);
  assert.equal(again.duplicates, 1, JSON.stringify(again));
  assert.equal((await s.ns.query({ remoteId: s.dimse.id, patientId: 'BENCH701' }))[0].localCaseId, got.caseIds[0]);

  if (s.web) {
    const web = await s.ns.query({ remoteId: s.web.id, patientName: 'BENCH^SEED702' });
    assert.equal(web.length, 1, JSON.stringify(web));
    assert.equal(web[0].studyInstanceUid, id1.studyInstanceUid);
    assert.equal(web[0].patientId, 'BENCH702');
    const wado = await s.ns.retrieve(s.web.id, id1.studyInstanceUid);
    assert.equal(wado.imported, 1, JSON.stringify(wado));
    assert.equal(s.store.countCases(), 2);
  }

  // C-MOVE: Orthanc opens its own association to this station's receiver, which imports what arrives.
  const mover = await station({ receiverPort: stationPort });
  mover.ns.repo.saveRemote({ id: mover.dimse.id, name: 'PACS (DIMSE)', kind: 'dimse', host: '127.0.0.1', port: orthanc.dicomPort, aeTitle: orthanc.aeTitle, retrieve: 'C-MOVE' });
  const moved = await mover.ns.retrieve(mover.dimse.id, id1.studyInstanceUid);
  assert.equal(moved.imported, 1, JSON.stringify(moved));
  assert.equal(mover.store.countCases(), 1);
  assert.equal(mover.ns.repo.listReceived(1)[0].callingAe, orthanc.aeTitle);
  await mover.close();
});

test('results are sent by C-STORE and STOW-RS and read back from Orthanc; the same instance is never queued twice', { skip: missing ?? false, timeout: 60_000 }, async () => {
  const s = await station();
  const sr = srInstance({ studyInstanceUid: '2.25.9100', patientId: 'P9100', text: 'No radiographic sign of tuberculosis.' });
  const first = s.ns.enqueueInstance(s.dimse.id, sr.bytes, { caseId: null, enqueuedBy: 'test' });
  assert.equal(first.added, true);
  assert.equal(first.item.kind, 'sr');
  assert.equal(s.ns.enqueueInstance(s.dimse.id, sr.bytes, { caseId: null, enqueuedBy: 'test' }).added, false);
  await until('the SR to be sent', () => s.ns.repo.queueItem(first.item.id).state === 'sent');
  assert.equal(s.ns.repo.queueItem(first.item.id).verifiedBy, 'response');
  const ids = await orthanc.findInstance(sr.sopInstanceUid);
  assert.equal(ids.length, 1);
  const back = readIdentity(await orthanc.instanceFile(ids[0]));
  assert.equal(back.sopInstanceUid, sr.sopInstanceUid);
  assert.equal(back.studyInstanceUid, '2.25.9100');
  assert.equal(back.modality, 'SR');

  if (s.web) {
    const sr2 = srInstance({ studyInstanceUid: '2.25.9100', patientId: 'P9100', text: 'Sent by STOW-RS.' });
    const q = s.ns.enqueueInstance(s.web.id, sr2.bytes, { caseId: null, enqueuedBy: 'test' });
    await until('the STOW-RS send', () => s.ns.repo.queueItem(q.item.id).state === 'sent');
    assert.equal((await orthanc.findInstance(sr2.sopInstanceUid)).length, 1);
    // QIDO-RS finds both results of the study.
    const web = await s.ns.archive(s.ns.repo.getRemote(s.web.id)).findInstances('2.25.9100', { modalities: ['SR'] });
    assert.deepEqual(web.map((i) => i.sopInstanceUid).sort(), [sr.sopInstanceUid, sr2.sopInstanceUid].sort());
  }
});

test('a connection cut in the middle of a send is retried and delivered exactly once', { skip: missing ?? false, timeout: 60_000 }, async () => {
  const proxy = new CuttingProxy(orthanc.dicomPort);
  await proxy.start();
  cleanup.push(() => proxy.stop());
  const s = await station();
  const viaProxy = s.ns.repo.saveRemote({ name: 'PACS via flaky link', kind: 'dimse', host: '127.0.0.1', port: proxy.port, aeTitle: orthanc.aeTitle });

  // 1. The archive stores the instance but its answer never arrives: the retry asks (C-FIND) and does not resend.
  proxy.cut = (n) => (n === 0 ? { fromTargetChunks: 1 } : null);
  const a = srInstance({ studyInstanceUid: '2.25.9200', patientId: 'P9200', text: 'answer lost' });
  const qa = s.ns.enqueueInstance(viaProxy.id, a.bytes, { caseId: null, enqueuedBy: 'test' }).item;
  await until('delivery after a lost answer', () => s.ns.repo.queueItem(qa.id).state === 'sent');
  const da = s.ns.repo.queueItem(qa.id);
  assert.equal(da.verifiedBy, 'query');
  assert.ok(da.attempts >= 2);
  assert.equal((await orthanc.findInstance(a.sopInstanceUid)).length, 1);
  // the second connection carried a C-FIND only, far smaller than the instance
  assert.equal(proxy.connections, 2);
  assert.ok(proxy.uploaded[1] < a.bytes.byteLength, `${proxy.uploaded[1]} >= ${a.bytes.byteLength}`);

  // 2. The connection breaks while the instance is on its way: the archive holds nothing, so it is sent again, once.
  const before = proxy.connections;
  proxy.cut = (n) => (n === before ? { toTargetBytes: 20_000 } : null);
  // An instance large enough (180 kB) to be cut in the middle: an image stands for a SEG here.
  const bBytes = syntheticDicom(300, 300, 9201);
  const b = readIdentity(bBytes);
  const countBefore = await orthanc.countInstances();
  const qb = s.ns.enqueueInstance(viaProxy.id, bBytes, { caseId: null, enqueuedBy: 'test' }).item;
  await until('delivery after a cut upload', () => s.ns.repo.queueItem(qb.id).state === 'sent');
  const db = s.ns.repo.queueItem(qb.id);
  assert.equal(db.verifiedBy, 'response');
  assert.equal((await orthanc.findInstance(b.sopInstanceUid)).length, 1);
  assert.equal(await orthanc.countInstances(), countBefore + 1);
  assert.ok(db.lastError === null);
});

test('the queue survives a restart of the station while the archive is down, then delivers once', { skip: missing ?? false, timeout: 60_000 }, async () => {
  const dbPath = tempDbPath();
  const s1 = await station({ dbPath });
  await orthanc.halt();
  try {
    const sr = srInstance({ studyInstanceUid: '2.25.9300', patientId: 'P9300', text: 'queued while the archive was down' });
    const q = s1.ns.enqueueInstance(s1.dimse.id, sr.bytes, { caseId: null, enqueuedBy: 'test' }).item;
    await until('a failed first attempt', () => s1.ns.repo.queueItem(q.id).attempts >= 1 && s1.ns.repo.queueItem(q.id).state === 'pending');
    const waiting = s1.ns.repo.queueItem(q.id);
    assert.match(waiting.lastError ?? '', /connection refused|ECONNREFUSED/);
    assert.ok(waiting.nextAttemptAt && Date.parse(waiting.nextAttemptAt) > Date.now() - 1000);
    await s1.close();
    await orthanc.launch();
    const s2 = await station({ dbPath });
    await until('delivery after the restart', () => s2.ns.repo.queueItem(q.id).state === 'sent');
    assert.equal((await orthanc.findInstance(sr.sopInstanceUid)).length, 1);
  } finally {
    await orthanc.launch();
  }
});

test('two stations sharing one archive: a result signed on one is seen by the other when it opens the study', { skip: missing ?? false, timeout: 60_000 }, async () => {
  const image = syntheticDicom(256, 256, 801);
  const a = await station({ aeTitle: 'STATIONA' });
  const b = await station({ aeTitle: 'STATIONB' });
  const inA = await importBytes(a.store, image, 'a.dcm');
  const inB = await importBytes(b.store, image, 'b.dcm');
  assert.equal(inA.status, 'imported');
  assert.equal(inB.status, 'imported');

  // Station A's model read the image (the SR reports the AI reading); then a radiologist signs.
  a.store.saveAnalysis({
    imageId: inA.imageId,
    model: { name: 'cxr-test', version: '1.0.0', sha256: 'f'.repeat(64), ep: 'cpu' },
    tbScore: 12.5,
    label: 'healthy',
    result: { threshold: 42, probabilities: [{ name: 'healthy', p: 0.875 }, { name: 'sick_non_tb', p: 0.1 }, { name: 'tb', p: 0.025 }], boxes: [] },
  });
  // The reader kept a lung outline: a mask, which goes out as a DICOM SEG.
  const mask = new Uint8Array(256 * 256);
  for (let y = 40; y < 200; y++) for (let x = 30; x < 120; x++) mask[y * 256 + x] = 1;
  saveAnnotationVersion(a.store.db, inA.imageId, { author: 'Ada Rad', baseVersion: 0, findings: [], masks: [{ id: 'right', label: 'right_lung', source: 'ai', width: 256, height: 256, packed: packBits(mask) }] });
  // Sign on station A and send its results (SR, SEG and encapsulated PDF) to the shared archive.
  const admin = await createUser(a.store.db, { username: 'admin', displayName: 'Admin', role: 'administrator', password: 'admin-pass-1' }, { userId: null, username: 'admin' }, { firstAdministrator: true });
  const rad = await createUser(a.store.db, { username: 'rad', displayName: 'Ada Rad', role: 'radiologist', password: 'rad-pass-123' }, { userId: admin.id, username: 'admin' });
  signCase(a.store.db, inA.caseId, { userId: rad.id, username: rad.username, displayName: rad.displayName, role: rad.role });
  const queued = await a.ns.enqueueSignedResults(inA.caseId, { userId: rad.id, username: rad.username });
  const dimseItems = queued.filter((q) => q.remoteId === a.dimse.id);
  assert.deepEqual(dimseItems.map((q) => q.kind).sort(), ['pdf', 'seg', 'sr']);
  // Queuing the same signed version again adds nothing.
  const requeued = await a.ns.enqueueSignedResults(inA.caseId, { userId: rad.id, username: rad.username });
  assert.deepEqual(requeued.map((q) => q.id).sort(), queued.map((q) => q.id).sort());
  await until('the signed results to be sent', () => dimseItems.every((q) => a.ns.repo.queueItem(q.id).state === 'sent'));

  const seenByB = await b.ns.studyResults(inB.caseId);
  assert.deepEqual(seenByB.errors, []);
  const kinds = seenByB.results.filter((r) => r.remoteId === b.dimse.id);
  assert.deepEqual(kinds.map((r) => r.kind).sort(), ['pdf', 'seg', 'sr']);
  // and the SEG reads back from Orthanc as the segmentation of this study
  const seg = dimseItems.find((q) => q.kind === 'seg')!;
  const segBack = readIdentity(await orthanc.instanceFile((await orthanc.findInstance(seg.sopInstanceUid))[0]));
  assert.equal(segBack.sopClassUid, '1.2.840.10008.5.1.4.1.1.66.4');
  assert.equal(segBack.studyInstanceUid, readIdentity(image).studyInstanceUid);
  assert.ok(kinds.every((r) => !r.ours));
  assert.deepEqual(new Set(kinds.map((r) => r.sopInstanceUid)), new Set(dimseItems.map((q) => q.sopInstanceUid)));
  const seenByA = await a.ns.studyResults(inA.caseId);
  assert.ok(seenByA.results.filter((r) => r.remoteId === a.dimse.id).every((r) => r.ours));
});
