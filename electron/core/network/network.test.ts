// The network service's pieces that need no server: migration 0080 over a store of the previous version, the
// repository (settings, archives, the queue's exactly-once rules), back-off, multipart and Part 10 wrapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { runMigrations } from '../store/migrate';
import { migrations } from '../store/migrations/index';
import { NetworkRepo, DEFAULT_SETTINGS } from './repo';
import { backoffMs, OutgoingQueue } from './queue';
import { buildMultipart, parseMultipart } from './dicomweb';
import { dateRange, part10FromDataset, readIdentity, resultKind } from './dicom';
import { preferredSyntax } from './receiver';
import { SendError, type Archive } from './archive';
import { srInstance } from './testFixtures';

function dbAt(version: number): Database.Database {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  runMigrations(db, migrations.filter((m) => m.version <= version));
  return db;
}

test('migration 0080 applies over the previous version, keeps the cases, and the queue queries use their indexes', () => {
  const before = migrations.filter((m) => m.version < 80).at(-1)!.version;
  const db = dbAt(before);
  db.prepare("INSERT INTO patients (patient_id, patient_name) VALUES ('P1', 'DOE^J')").run();
  db.prepare("INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text) VALUES ('1.2.3', 1, '2026-11-28T00:00:00Z', 'DOE^J', 'P1', 'doe p1')").run();
  runMigrations(db);
  assert.equal(db.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM studies').get() as { n: number }).n, 1);
  const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
  assert.match(plan("SELECT id FROM send_queue WHERE state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= '2026') ORDER BY next_attempt_at, id LIMIT 1"), /send_queue_due/);
  assert.match(plan('SELECT id FROM send_queue WHERE remote_ref = 1 AND sop_instance_uid = \'x\''), /sqlite_autoindex_send_queue/);
  assert.match(plan('SELECT * FROM received_instances ORDER BY received_at DESC, id DESC LIMIT 50'), /received_recent/);
});

test('settings: defaults until saved, validated, persisted', () => {
  const repo = new NetworkRepo(dbAt(1000));
  assert.deepEqual(repo.settings(), DEFAULT_SETTINGS);
  repo.saveSettings({ receiver: { enabled: true, aeTitle: 'ROOM2', port: 4242, whitelist: ['XRAY1'] }, autoSendOnSign: false });
  assert.deepEqual(repo.settings(), { receiver: { enabled: true, aeTitle: 'ROOM2', port: 4242, whitelist: ['XRAY1'] }, autoSendOnSign: false });
  assert.throws(() => repo.saveSettings({ receiver: { enabled: true, aeTitle: '', port: 4242, whitelist: [] }, autoSendOnSign: false }), /NETWORK_SETTINGS_INVALID|cannot be empty/);
  assert.throws(() => repo.saveSettings({ receiver: { enabled: true, aeTitle: 'OK', port: 70000, whitelist: [] }, autoSendOnSign: false }), /1 to 65535/);
});

test('archives: DIMSE needs host, port and AE title; DICOMweb a http(s) URL; names unique; the password never leaves', () => {
  const repo = new NetworkRepo(dbAt(1000));
  assert.throws(() => repo.saveRemote({ name: 'PACS', kind: 'dimse', host: 'pacs' }), /needs a host, a port and its AE title/);
  assert.throws(() => repo.saveRemote({ name: 'Web', kind: 'dicomweb', url: 'ftp://x' }), /http:\/\/ or https:\/\//);
  const pacs = repo.saveRemote({ name: 'PACS', kind: 'dimse', host: 'pacs', port: 104, aeTitle: 'PACS' });
  assert.throws(() => repo.saveRemote({ name: 'pacs', kind: 'dimse', host: 'x', port: 1, aeTitle: 'X' }), /already called/);
  const web = repo.saveRemote({ name: 'Web', kind: 'dicomweb', url: 'http://pacs:8042/dicom-web/', username: 'u', password: 'secret' });
  assert.equal(web.url, 'http://pacs:8042/dicom-web');
  assert.equal(web.hasPassword, true);
  // Editing without a password keeps it; null removes it.
  assert.equal(repo.saveRemote({ id: web.id, name: 'Web', kind: 'dicomweb', url: web.url }).password, 'secret');
  assert.equal(repo.saveRemote({ id: web.id, name: 'Web', kind: 'dicomweb', url: web.url, password: null }).hasPassword, false);
  assert.equal(repo.removeRemote(pacs.id), true);
  assert.deepEqual(repo.listRemotes().map((r) => r.name), ['Web']);
  // The name of a removed archive can be used again.
  assert.equal(repo.saveRemote({ name: 'PACS', kind: 'dimse', host: 'new', port: 104, aeTitle: 'PACS' }).host, 'new');
});

function fakeArchive(behaviour: { store: () => Promise<void>; holds: () => boolean }): Archive & { stores: number; finds: number } {
  const a = {
    name: 'fake',
    stores: 0,
    finds: 0,
    echo: async () => {},
    findStudies: async () => [],
    retrieveStudy: async () => ({ failed: 0 }),
    findInstances: async (_s: string, f?: { sopInstanceUid?: string }) => {
      a.finds++;
      return behaviour.holds() ? [{ sopInstanceUid: f!.sopInstanceUid!, sopClassUid: null, seriesInstanceUid: null, modality: 'SR', seriesDescription: null, contentDate: null, contentTime: null }] : [];
    },
    store: async () => {
      a.stores++;
      await behaviour.store();
    },
  };
  return a;
}

async function settle(queue: OutgoingQueue, repo: NetworkRepo, id: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (['pending', 'sending'].includes(repo.queueItem(id).state)) {
    if (Date.now() > deadline) throw new Error(`still ${repo.queueItem(id).state}: ${repo.queueItem(id).lastError}`);
    queue.kick();
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the queue: never queued twice, an uncertain attempt is checked before resending, refusals fail, back-off is capped', async () => {
  const repo = new NetworkRepo(dbAt(1000));
  const remote = repo.saveRemote({ name: 'PACS', kind: 'dimse', host: 'pacs', port: 104, aeTitle: 'PACS' });
  let arrived = false;
  let calls = 0;
  // First attempt: the data arrives but the answer is lost. The queue must find it there and not send it again.
  const archive = fakeArchive({
    store: async () => {
      calls++;
      arrived = true;
      if (calls === 1) throw new SendError('NETWORK_UNREACHABLE', 'connection reset', 'unknown', false);
    },
    holds: () => arrived,
  });
  const queue = new OutgoingQueue(repo, () => archive, () => {}, { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 5 });
  queue.start();
  const sr = srInstance({ studyInstanceUid: '2.25.1', patientId: 'P1', text: 'x' });
  const id = readIdentity(sr.bytes);
  const add = () => repo.enqueue({ remoteId: remote.id, caseId: null, kind: 'sr', sopInstanceUid: id.sopInstanceUid, sopClassUid: id.sopClassUid, studyInstanceUid: id.studyInstanceUid, seriesInstanceUid: id.seriesInstanceUid, payload: sr.bytes, enqueuedBy: 'test' });
  const first = add();
  assert.equal(first.added, true);
  assert.equal(add().added, false);
  await settle(queue, repo, first.item.id);
  const done = repo.queueItem(first.item.id);
  assert.equal(done.state, 'sent');
  assert.equal(done.verifiedBy, 'query');
  assert.equal(archive.stores, 1);
  assert.equal(archive.finds, 1);

  // A refusal by the archive is permanent: failed at once, with the reason; a person may retry it.
  const refusing = fakeArchive({ store: async () => Promise.reject(new SendError('NETWORK_REFUSED', 'refused with status 0xA900', 'not-sent', true)), holds: () => false });
  const q2 = new OutgoingQueue(repo, () => refusing, () => {}, { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 5 });
  q2.start();
  const sr2 = srInstance({ studyInstanceUid: '2.25.2', patientId: 'P2', text: 'y' });
  const id2 = readIdentity(sr2.bytes);
  const item2 = repo.enqueue({ remoteId: remote.id, caseId: null, kind: 'sr', sopInstanceUid: id2.sopInstanceUid, sopClassUid: id2.sopClassUid, studyInstanceUid: id2.studyInstanceUid, seriesInstanceUid: id2.seriesInstanceUid, payload: sr2.bytes, enqueuedBy: 'test' }).item;
  await settle(q2, repo, item2.id);
  assert.equal(repo.queueItem(item2.id).state, 'failed');
  assert.match(repo.queueItem(item2.id).lastError ?? '', /0xA900/);
  assert.equal(refusing.finds, 0);
  assert.equal(repo.retryNow(item2.id).state, 'pending');
  assert.throws(() => repo.retryNow(first.item.id), /already delivered/);
  await q2.stop();
  await queue.stop();

  // Back-off doubles and is capped, with jitter inside +-20%.
  const t = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 10 };
  assert.equal(backoffMs(1, t, () => 0.5), 1000);
  assert.equal(backoffMs(3, t, () => 0.5), 4000);
  assert.equal(backoffMs(20, t, () => 0.5), 60_000);
  assert.equal(backoffMs(20, t, () => 1), 72_000);
  assert.equal(backoffMs(20, t, () => 0), 48_000);
});

test('a send interrupted by a stop (left "sending") becomes uncertain and due at the next start', () => {
  const repo = new NetworkRepo(dbAt(1000));
  const remote = repo.saveRemote({ name: 'PACS', kind: 'dimse', host: 'pacs', port: 104, aeTitle: 'PACS' });
  const sr = srInstance({ studyInstanceUid: '2.25.3', patientId: 'P3', text: 'z' });
  const id = readIdentity(sr.bytes);
  repo.enqueue({ remoteId: remote.id, caseId: null, kind: 'sr', sopInstanceUid: id.sopInstanceUid, sopClassUid: id.sopClassUid, studyInstanceUid: id.studyInstanceUid, seriesInstanceUid: id.seriesInstanceUid, payload: sr.bytes, enqueuedBy: 'test' });
  const claimed = repo.claimDue()!;
  assert.equal(claimed.state, 'sending');
  assert.equal(repo.claimDue(), null);
  assert.equal(repo.recoverInterrupted(), 1);
  const again = repo.queueItem(claimed.id);
  assert.equal(again.state, 'pending');
  assert.equal(again.uncertain, true);
  assert.deepEqual(repo.payload(claimed.id), sr.bytes);
});

test('multipart/related round trip, Part 10 wrapping of a received data set, query dates, result kinds, transfer syntax choice', () => {
  const parts = [new Uint8Array([1, 2, 3, 13, 10, 45, 45]), new Uint8Array(1000).fill(7)];
  const { body, contentType } = buildMultipart(parts);
  assert.deepEqual(parseMultipart(body, contentType).map((p) => [...p]), parts.map((p) => [...p]));

  const sr = srInstance({ studyInstanceUid: '2.25.4', patientId: 'P4', text: 'w' });
  const id = readIdentity(sr.bytes);
  // the data set after the file meta group, as it would arrive over DIMSE
  const metaLength = new DataView(sr.bytes.buffer, sr.bytes.byteOffset).getUint32(132 + 8, true);
  const dataset = sr.bytes.subarray(132 + 12 + metaLength);
  const wrapped = part10FromDataset(dataset, { sopClassUid: id.sopClassUid, sopInstanceUid: id.sopInstanceUid, transferSyntaxUid: id.transferSyntaxUid, sourceAeTitle: 'XRAY1' });
  assert.deepEqual(readIdentity(wrapped), id);

  assert.equal(dateRange('2026-11-01', '2026-11-30'), '20261101-20261130');
  assert.equal(dateRange(undefined, '20261130'), '-20261130');
  assert.equal(dateRange(), null);
  assert.throws(() => dateRange('2026-12-01', '2026-11-01'), /after the last/);
  assert.throws(() => dateRange('1 Nov'), /date like/);
  assert.equal(resultKind('1.2.840.10008.5.1.4.1.1.88.33'), 'sr');
  assert.equal(resultKind('1.2.840.10008.5.1.4.1.1.66.4'), 'seg');
  assert.equal(resultKind('1.2.840.10008.5.1.4.1.1.104.1'), 'pdf');
  assert.equal(resultKind('1.2.840.10008.5.1.4.1.1.1.1'), 'image');
  const decodable = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.4.50']);
  assert.equal(preferredSyntax(['1.2.840.10008.1.2.2', '1.2.840.10008.1.2'], decodable), '1.2.840.10008.1.2');
  assert.equal(preferredSyntax(['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.4.50'], decodable), '1.2.840.10008.1.2.4.50');
  assert.equal(preferredSyntax(['1.2.840.10008.1.2.4.80'], decodable), undefined);
});

test('signing a case through the station queues its SR and PDF for the "send results" archives (and only when that is on)', async () => {
  const { Workstation } = await import('../api/index');
  const { importBytes } = await import('../importing/index');
  const { tempDbPath } = await import('../../testing/index');
  const { syntheticDicom } = await import('../../../bench/synthetic');
  const { freePort } = await import('./testOrthanc');
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  try {
    await ws.networkReady;
    const ok = async (name: Parameters<typeof ws.dispatch>[0], req: unknown) => {
      const r = await ws.dispatch(name, req);
      if (!r.ok) throw new Error(`${String(name)}: ${r.error.message}`);
      return r.value;
    };
    await ok('accounts:setupAdmin', { username: 'admin', displayName: 'Admin', password: 'admin-pass-1' });
    await ok('accounts:createUser', { username: 'rad', displayName: 'Ada Rad', role: 'radiologist', password: 'rad-pass-123' });
    // An archive nobody listens on: the sends wait in the queue with the reason.
    const port = await freePort();
    await ok('network:saveRemote', { name: 'PACS', kind: 'dimse', host: '127.0.0.1', port, aeTitle: 'PACS', sendResults: true });
    await ok('network:saveRemote', { name: 'Viewer only', kind: 'dimse', host: '127.0.0.1', port, aeTitle: 'OTHER' });
    const settings = (await ok('network:getSettings', {})) as { settings: { receiver: object; autoSendOnSign: boolean } };
    assert.equal(settings.settings.autoSendOnSign, true);

    const signOne = async (seed: number) => {
      const r = await importBytes(ws.store, syntheticDicom(128, 128, seed), `${seed}.dcm`);
      assert.equal(r.status, 'imported');
      if (r.status !== 'imported') throw new Error('import');
      ws.store.saveAnalysis({ imageId: r.imageId, model: { name: 'cxr-test', version: '1', sha256: 'f'.repeat(64), ep: 'cpu' }, tbScore: 10, label: 'healthy', result: { threshold: 42, probabilities: [{ name: 'healthy', p: 0.9 }, { name: 'sick_non_tb', p: 0.05 }, { name: 'tb', p: 0.05 }], boxes: [] } });
      await ok('accounts:login', { username: 'rad', password: 'rad-pass-123' });
      await ok('accounts:sign', { caseId: r.caseId });
      return r.caseId;
    };
    const caseId = await signOne(9501);
    let items: { kind: string; remoteName: string }[] = [];
    const deadline = Date.now() + 20_000;
    while (items.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      items = ((await ok('network:queue', { caseId })) as { items: { kind: string; remoteName: string }[] }).items;
    }
    assert.deepEqual(items.map((i) => i.kind).sort(), ['pdf', 'sr']);
    assert.ok(items.every((i) => i.remoteName === 'PACS'));

    // Turned off: signing queues nothing.
    await ok('accounts:login', { username: 'admin', password: 'admin-pass-1' });
    await ok('network:setSettings', { ...settings.settings, autoSendOnSign: false });
    const second = await signOne(9502);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(((await ok('network:queue', { caseId: second })) as { items: unknown[] }).items, []);
  } finally {
    await ws.close();
  }
});
