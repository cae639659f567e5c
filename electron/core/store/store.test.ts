import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CaseStore, blobDirFor, sha256, worklistOrder, type NewImageRecord } from './index';
import { WorklistSortKey } from '../../contract/index';
import { runMigrations, latestVersion } from './migrate';
import { migrations } from './migrations/index';
import { tempDbPath } from '../../testing/index';
import { AppError } from '../errors';
import { flagWorklistRow, thresholdInForce } from '../site/threshold';
import { insertVersion } from '../site/calibration';

export function record(i: number, over: Partial<{ study: string; series: string; sop: string; pixelSha: string; name: string; pid: string; date: string }> = {}): NewImageRecord {
  return {
    patient: { patientId: over.pid ?? `P${i}`, patientName: over.name ?? `Patient^${String(i).padStart(5, '0')}`, birthDate: null, sex: i % 2 ? 'F' : 'M' },
    study: { studyInstanceUid: over.study ?? `1.2.3.${i}`, studyDate: over.date ?? `2026${String((i % 12) + 1).padStart(2, '0')}${String((i % 28) + 1).padStart(2, '0')}`, studyTime: null, accessionNumber: `ACC${i}`, description: null },
    series: { seriesInstanceUid: over.series ?? `1.2.3.${i}.1`, modality: i % 3 ? 'CR' : 'DX', bodyPart: 'CHEST', viewPosition: 'PA', seriesNumber: 1, description: null },
    image: {
      sopInstanceUid: over.sop ?? `1.2.3.${i}.1.1`,
      sopClassUid: null,
      rows: 2,
      columns: 2,
      bitsStored: 12,
      photometric: 'MONOCHROME2',
      rescaleSlope: 1,
      rescaleIntercept: 0,
      pixelSpacing: [0.2, 0.2],
      minPixel: 0,
      maxPixel: 4095,
      windows: [{ name: 'Default', center: 2048, width: 4096 }],
      pixelSha256: over.pixelSha ?? sha256(new TextEncoder().encode(`px${i}`)),
      sourceName: `f${i}.dcm`,
      sourceSha256: sha256(new TextEncoder().encode(`src${i}`)),
      sourceFormat: 'dicom',
      transferSyntax: '1.2.840.10008.1.2.1',
    },
  };
}

test('a new store is migrated to the latest schema with WAL and foreign keys on', () => {
  const store = CaseStore.open(tempDbPath());
  assert.equal(store.schemaVersion(), latestVersion());
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
  assert.ok(fs.existsSync(path.join(blobDirFor(store.dbPath), 'tmp')));
  store.close();
});

test('reopening applies nothing twice and keeps the rows', () => {
  const p = tempDbPath();
  const a = CaseStore.open(p);
  a.insertImage(record(1));
  a.close();
  const b = CaseStore.open(p);
  assert.equal(b.countCases(), 1);
  b.close();
});

test('a database from a newer app is refused with a clear message and left untouched', () => {
  const p = tempDbPath();
  const db = new Database(p);
  db.pragma(`user_version = ${latestVersion() + 5}`);
  db.exec('CREATE TABLE future (x)');
  db.close();
  assert.throws(
    () => CaseStore.open(p),
    (e: unknown) => e instanceof AppError && e.code === 'DB_NEWER_THAN_APP' && /newer version/.test(e.message),
  );
  const again = new Database(p);
  assert.equal(again.pragma('user_version', { simple: true }), latestVersion() + 5);
  again.close();
});

test('a failing migration rolls back entirely', () => {
  const db = new Database(':memory:');
  const bad = [
    { version: 10, migrate: (d: Database.Database) => d.exec('CREATE TABLE a (x INTEGER) STRICT') },
    { version: 20, migrate: () => { throw new Error('boom'); } },
  ];
  assert.throws(() => runMigrations(db, bad), /boom/);
  assert.equal(db.pragma('user_version', { simple: true }), 0);
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'a'").pluck().get(), 0);
});

test('migration versions must grow', () => {
  const db = new Database(':memory:');
  assert.throws(() => runMigrations(db, [{ version: 20, migrate: () => {} }, { version: 10, migrate: () => {} }]), /must grow/);
});

test('images of one study share a case; the worklist row counts them', () => {
  const store = CaseStore.open(tempDbPath());
  const a = store.insertImage(record(1));
  const b = store.insertImage(record(2, { study: '1.2.3.1', pid: 'P1', name: 'Patient^00001', series: '1.2.3.1.2' }));
  assert.equal(a.caseId, b.caseId);
  const page = store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'desc' }, filter: {}, offset: 0, limit: 10 });
  assert.equal(page.total, 1);
  assert.equal(page.rows[0].imageCount, 2);
  assert.equal(page.rows[0].firstImageId, a.imageId);
  const detail = store.getCase(a.caseId);
  assert.equal(detail.images.length, 2);
  assert.deepEqual(detail.images[0].pixelSpacing, [0.2, 0.2]);
  store.close();
});

test('duplicates are found by SOP Instance UID and by pixel hash', () => {
  const store = CaseStore.open(tempDbPath());
  const r = record(1);
  store.insertImage(r);
  assert.equal(store.findDuplicate(r.image.sopInstanceUid, 'f'.repeat(64))?.by, 'sopInstanceUid');
  assert.equal(store.findDuplicate('9.9.9', r.image.pixelSha256)?.by, 'pixels');
  assert.equal(store.findDuplicate('9.9.9', 'f'.repeat(64)), null);
  assert.throws(() => store.insertImage(r), /UNIQUE/);
  assert.equal(store.countCases(), 1);
  store.close();
});

test('a failed insert leaves no patient, study or series behind', () => {
  const store = CaseStore.open(tempDbPath());
  store.insertImage(record(1));
  const clash = record(2, { pixelSha: record(1).image.pixelSha256 });
  assert.throws(() => store.insertImage(clash));
  for (const t of ['patients', 'studies', 'series', 'images']) {
    assert.equal((store.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, 1, t);
  }
  store.close();
});

test('worklist sorts, filters and pages; NULL scores sort last both ways', () => {
  const store = CaseStore.open(tempDbPath());
  for (let i = 0; i < 30; i++) store.insertImage(record(i));
  store.db.prepare('UPDATE studies SET ai_score = id * 3 WHERE id % 2 = 0').run();
  const q = (key: 'patientName' | 'aiScore' | 'studyDate', dir: 'asc' | 'desc', text?: string, offset = 0, limit = 100) =>
    store.findCasesForWorklist({ sort: { key, dir }, filter: { text }, offset, limit });
  const byName = q('patientName', 'asc').rows.map((r) => r.patientName);
  assert.deepEqual(byName, [...byName].sort());
  for (const dir of ['asc', 'desc'] as const) {
    const scores = q('aiScore', dir).rows.map((r) => r.aiScore);
    const firstNull = scores.indexOf(null);
    assert.ok(scores.slice(firstNull).every((s) => s === null), 'nulls last');
    const nonNull = scores.slice(0, firstNull) as number[];
    assert.deepEqual(nonNull, [...nonNull].sort((a, b) => (dir === 'asc' ? a - b : b - a)));
  }
  assert.equal(q('patientName', 'asc', 'patient^0001').total, 10);
  assert.equal(q('patientName', 'asc', '%').total, 0, 'no wildcards');
  assert.equal(q('patientName', 'desc', 'PATIENT^0001').total, 10, 'case-insensitive');
  const p1 = q('patientName', 'asc', undefined, 0, 7).rows.map((r) => r.caseId);
  const p2 = q('patientName', 'asc', undefined, 7, 7).rows.map((r) => r.caseId);
  assert.equal(new Set([...p1, ...p2]).size, 14);
  assert.equal(store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'desc' }, filter: { status: 'signed' }, offset: 0, limit: 5 }).total, 0);
  store.close();
});

test('every worklist sort order is read from an index, never sorted in a temporary B-tree', () => {
  const store = CaseStore.open(tempDbPath());
  for (const key of WorklistSortKey.options) {
    for (const dir of ['asc', 'desc'] as const) {
      const sql = `SELECT id FROM studies ORDER BY ${worklistOrder(key, dir)} LIMIT 100`;
      const text = (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((p) => p.detail).join(' | ');
      assert.match(text, /USING (COVERING )?INDEX/, `${key} ${dir}: ${text}`);
      assert.doesNotMatch(text, /TEMP B-TREE/, `${key} ${dir}: ${text}`);
    }
  }
  store.close();
});

test('blobs are written atomically and orphans are swept', () => {
  const store = CaseStore.open(tempDbPath());
  const bytes = new Uint8Array([1, 2, 3, 4]);
  const h = sha256(bytes);
  const p = store.putBlob('pixels', h, bytes);
  assert.deepEqual(new Uint8Array(store.readBlob('pixels', h)), bytes);
  assert.equal(fs.readFileSync(p).indexOf(Buffer.from(bytes)), -1, 'stored encrypted');
  fs.writeFileSync(path.join(blobDirFor(store.dbPath), 'tmp', 'half-written'), 'x');
  assert.equal(store.sweepOrphanBlobs().removed, 2);
  assert.equal(fs.existsSync(p), false);
  store.close();
});

test('staged blobs (sealed and fsynced off the main thread) read back like putBlob; discard leaves nothing', async () => {
  const store = CaseStore.open(tempDbPath());
  const tmpDir = path.join(blobDirFor(store.dbPath), 'tmp');
  const big = new Uint8Array(3 << 20).map((_, i) => (i * 7919) & 0xff);
  const h = sha256(big);
  const staged = await store.stageBlob('originals', h, big);
  assert.equal(fs.existsSync(store.blobPath('originals', h)), false, 'not under its name before commit');
  assert.equal(fs.readdirSync(tmpDir).length, 1);
  const p = await staged.commit();
  assert.equal(p, store.blobPath('originals', h));
  assert.deepEqual(new Uint8Array(store.readBlob('originals', h)), big, 'same sealed format as putBlob');
  assert.equal(fs.statSync(p).size, fs.readFileSync(p).length);
  assert.deepEqual(fs.readdirSync(tmpDir), []);
  // an identical blob already stored: commit keeps it and removes ours
  const again = await store.stageBlob('originals', h, big);
  assert.equal(await again.commit(), p);
  const other = new Uint8Array([9, 8, 7]);
  const dropped = await store.stageBlob('pixels', sha256(other), other);
  await dropped.discard();
  assert.deepEqual(fs.readdirSync(tmpDir), []);
  assert.equal(fs.existsSync(store.blobPath('pixels', sha256(other))), false);
  assert.equal(await store.putBlobAsync('pixels', sha256(other), other), store.blobPath('pixels', sha256(other)));
  assert.deepEqual(new Uint8Array(store.readBlob('pixels', sha256(other))), other);
  store.close();
});

test('damaged or missing pixel files give PIXELS_MISSING, not garbage', () => {
  const store = CaseStore.open(tempDbPath());
  const px = new Uint8Array(8).fill(7);
  const r = record(1, { pixelSha: sha256(px) });
  store.putBlob('pixels', r.image.pixelSha256, px);
  const { imageId } = store.insertImage(r);
  assert.deepEqual(store.readPixels(imageId), px);
  fs.writeFileSync(store.blobPath('pixels', r.image.pixelSha256), new Uint8Array(8));
  assert.throws(() => store.readPixels(imageId), (e: unknown) => e instanceof AppError && e.code === 'PIXELS_MISSING');
  fs.rmSync(store.blobPath('pixels', r.image.pixelSha256));
  assert.throws(() => store.readPixels(imageId), (e: unknown) => e instanceof AppError && e.code === 'PIXELS_MISSING');
  assert.throws(() => store.getCase(999), (e: unknown) => e instanceof AppError && e.code === 'NOT_FOUND');
  store.close();
});

test('text filtering gives the same pages as a brute-force filter, for small and large match sets', () => {
  const store = CaseStore.open(tempDbPath());
  store.db.transaction(() => {
    for (let i = 0; i < 2600; i++) store.insertImage(record(i, { name: i % 10 === 0 ? `RARE^${i}` : `COMMON^${i}` }));
  })();
  store.db.prepare("UPDATE studies SET status = 'analyzed', ai_score = id % 17 WHERE id % 3 = 0").run();
  const all = store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'asc' }, filter: {}, offset: 0, limit: 1000 }).total;
  assert.equal(all, 2600);
  for (const text of ['rare', 'common']) {
    for (const status of [undefined, 'analyzed'] as const) {
      for (const [key, dir] of [['aiScore', 'desc'], ['patientName', 'asc']] as const) {
        const got = store.findCasesForWorklist({ sort: { key, dir }, filter: { text, status }, offset: 50, limit: 100 });
        const expected = store.db
          .prepare(`SELECT id FROM studies WHERE instr(search_text, ?) > 0 ${status ? `AND status = '${status}'` : ''} ORDER BY ${worklistOrder(key, dir)}`)
          .pluck()
          .all(text) as number[];
        assert.equal(got.total, expected.length, `${text} ${status} ${key}`);
        assert.deepEqual(got.rows.map((r) => r.caseId), expected.slice(50, 150), `${text} ${status} ${key}`);
      }
    }
  }
  // a case added by another connection (the CLI) is found by the next query
  const other = CaseStore.open(store.dbPath).db;
  other.prepare(`INSERT INTO patients (patient_id, patient_name) VALUES ('X', 'LATE^ARRIVAL')`).run();
  other.prepare(`INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text) VALUES ('9.9', last_insert_rowid(), 'now', 'LATE^ARRIVAL', 'X', 'late^arrival x')`).run();
  other.close();
  assert.equal(store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'desc' }, filter: { text: 'arrival' }, offset: 0, limit: 10 }).total, 1);
  store.close();
});

test('migration 10 -> 20 keeps the cases and adds the analysis tables', () => {
  const p = tempDbPath();
  const db = new Database(p);
  runMigrations(db, migrations.filter((m) => m.version <= 10));
  assert.equal(db.pragma('user_version', { simple: true }), 10);
  db.prepare(`INSERT INTO patients (patient_id, patient_name) VALUES ('P1', 'OLD^CASE')`).run();
  db.prepare(`INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text) VALUES ('1.2', 1, 'then', 'OLD^CASE', 'P1', 'old^case p1')`).run();
  db.close();
  const store = CaseStore.open(p);
  assert.equal(store.schemaVersion(), latestVersion());
  assert.equal(store.findCasesForWorklist({ sort: { key: 'patientName', dir: 'asc' }, filter: { text: 'old' }, offset: 0, limit: 5 }).rows[0].patientName, 'OLD^CASE');
  const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
  assert.ok(tables.includes('analyses') && tables.includes('analysis_failures'));
  store.close();
});

test('analyses are stored per image and model version; the case takes its highest score', () => {
  const store = CaseStore.open(tempDbPath());
  const a = store.insertImage(record(1));
  const b = store.insertImage(record(2, { study: '1.2.3.1', pid: 'P1', name: 'Patient^00001', series: '1.2.3.1.2' }));
  const model = { name: 'm', version: '1', sha256: 'x', ep: 'cpu' };
  assert.deepEqual(store.imagesAwaitingAnalysis(model), [a.imageId, b.imageId]);
  assert.equal(store.countImagesAwaitingAnalysis(model), 2);
  store.saveAnalysis({ imageId: a.imageId, model, tbScore: 12.5, label: 'healthy', result: { boxes: [] }, evidence: new Uint8Array([1, 2]) });
  store.recordAnalysisFailure(b.imageId, model, { code: 'INFERENCE_FAILED', message: 'boom' });
  assert.deepEqual(store.imagesAwaitingAnalysis(model), []);
  assert.equal(store.countImagesAwaitingAnalysis(model), 0);
  assert.deepEqual(store.imagesAwaitingAnalysis({ name: 'm', version: '2' }), [a.imageId, b.imageId]);
  let row = store.findCasesForWorklist({ sort: { key: 'aiScore', dir: 'desc' }, filter: {}, offset: 0, limit: 5 }).rows[0];
  assert.equal(row.aiScore, 12.5);
  assert.equal(row.status, 'analyzed');
  store.saveAnalysis({ imageId: b.imageId, model, tbScore: 80, label: 'tb', result: { boxes: [1] } });
  row = store.findCasesForWorklist({ sort: { key: 'aiScore', dir: 'desc' }, filter: {}, offset: 0, limit: 5 }).rows[0];
  assert.equal(row.aiScore, 80);
  assert.equal(store.getAnalysisFailure(b.imageId), null, 'a later success clears the failure');
  const got = store.getAnalysis(a.imageId)!;
  assert.deepEqual(got.result, { boxes: [] });
  assert.deepEqual([...got.evidence!], [1, 2]);
  assert.throws(() => store.saveAnalysis({ imageId: a.imageId, model, tbScore: 1, label: 'x', result: {} }), /UNIQUE/, 'the AI original is never overwritten');
  store.close();
});

test('the worklist flags a case read by the pack in use at or above the threshold in force, and the flagged-only filter agrees with the flags', () => {
  const store = CaseStore.open(tempDbPath());
  const m1 = { name: 'm', version: '1', sha256: 'ab'.repeat(32), ep: 'cpu' };
  const m2 = { name: 'm', version: '2', sha256: 'cd'.repeat(32), ep: 'cpu' };
  const scores: [number, typeof m1][] = [[90, m1], [47.77, m1], [47.76, m1], [10, m1], [60, m2], [40, m2]];
  for (const [i, [score, model]] of scores.entries()) {
    const { imageId } = store.insertImage(record(i + 1, { study: `1.9.${i}`, series: `1.9.${i}.1`, pid: `P${i}`, name: `Case^${i}` }));
    store.saveAnalysis({ imageId, model, tbScore: score, label: 'x', result: { threshold: model === m1 ? 47.77 : 50, boxes: [] } });
  }
  store.insertImage(record(99, { study: '1.9.99', series: '1.9.99.1', pid: 'P99', name: 'Not^Read' }));
  // the case's model is recorded with its score, by sha256 and by name and version
  assert.deepEqual(
    store.db.prepare('SELECT ai_score_model, ai_model_name, ai_model_version FROM studies WHERE ai_score = 60').get(),
    { ai_score_model: m2.sha256, ai_model_name: 'm', ai_model_version: '2' },
  );
  const q = { sort: { key: 'aiScore' as const, dir: 'desc' as const }, filter: {}, offset: 0, limit: 50 };
  const check = (pack: { name: string; version: string; sha256: string; defaultThreshold: number }, flaggedScores: number[]) => {
    const t = thresholdInForce(store.db, pack);
    const rule = { modelSha256: t.pack.sha256, threshold: t.value };
    const all = store.findCasesForWorklist(q, rule).rows.map((r) => flagWorklistRow(r, t));
    assert.deepEqual(all.filter((r) => r.flagged).map((r) => r.aiScore), flaggedScores);
    // a score read by the other model is stale and never flagged; a case without a score is simply not flagged
    assert.ok(all.every((r) => r.aiScore !== null || (!r.flagged && !r.aiScoreStale)));
    const flagged = store.findCasesForWorklist({ ...q, filter: { flagged: true } }, rule);
    assert.equal(flagged.total, flaggedScores.length);
    assert.deepEqual(flagged.rows.map((r) => r.aiScore), flaggedScores);
    // with a text filter too (the few-matches path)
    assert.deepEqual(store.findCasesForWorklist({ ...q, filter: { flagged: true, text: 'case^' } }, rule).rows.map((r) => r.aiScore), flaggedScores);
    return all;
  };
  // m1 in use, at its pack default: the two scores at or above 47.77; m2's scores are stale
  const rows = check({ name: 'm', version: '1', sha256: m1.sha256, defaultThreshold: 47.77 }, [90, 47.77]);
  assert.deepEqual(rows.filter((r) => r.aiScoreStale).map((r) => r.aiScore), [60, 40]);
  // a site threshold for m1 moves the flags and the filter together
  insertVersion(store.db, m1, { kind: 'threshold', threshold: 80, headId: null, rule: 'threshold 80', nPositive: 1, nNegative: 1, fingerprint: 'f', auc: null, sensitivity: null, specificity: null }, { userId: null, username: 'admin' }, 'site.threshold', 'now');
  check({ name: 'm', version: '1', sha256: m1.sha256, defaultThreshold: 47.77 }, [90]);
  // m2 in use: only its own readings count, against its own default
  check({ name: 'm', version: '2', sha256: m2.sha256, defaultThreshold: 50 }, [60]);
  // no pack in use: nothing is flagged and the filter finds nothing
  assert.equal(store.findCasesForWorklist({ ...q, filter: { flagged: true } }, null).total, 0);
  assert.ok(store.findCasesForWorklist(q, null).rows.map((r) => flagWorklistRow(r, null)).every((r) => !r.flagged && !r.aiScoreStale));
  store.close();
});

test('migration 110 -> 120 records the name and version of the model that gave each scored case its score', () => {
  const p = tempDbPath();
  const db = new Database(p);
  runMigrations(db, migrations.filter((m) => m.version <= 110));
  assert.equal(db.pragma('user_version', { simple: true }), 110);
  // a store written at version 110, with a case scored then and one not read
  db.prepare(`INSERT INTO patients (patient_id, patient_name) VALUES ('P1', 'OLD^CASE')`).run();
  for (const [uid, score, model] of [['1.2', 70, 'ab'], ['1.3', null, null]] as const) {
    db.prepare(`INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text, ai_score, ai_score_model, status)
                VALUES (?, 1, 'then', 'OLD^CASE', 'P1', 'old^case p1', ?, ?, ?)`).run(uid, score, model, score === null ? 'new' : 'analyzed');
  }
  db.prepare(`INSERT INTO series (series_instance_uid, study_ref) VALUES ('1.2.1', 1)`).run();
  db.prepare(`INSERT INTO images (sop_instance_uid, series_ref, rows, columns, bits_stored, photometric, rescale_slope, rescale_intercept, min_pixel, max_pixel, windows_json, pixel_sha256, source_name, source_sha256, source_format, imported_at)
              VALUES ('1.2.1.1', 1, 4, 4, 12, 'MONOCHROME2', 1, 0, 0, 4095, '[]', 'p', 'a.png', 's', 'png', 'then')`).run();
  db.prepare(`INSERT INTO analyses (image_ref, model_name, model_version, model_sha256, execution_provider, tb_score, label, result_json, created_at) VALUES (1, 'm', '1', 'ab', 'cpu', 70, 'tb', '{"threshold":50}', 'then')`).run();
  db.close();
  const store = CaseStore.open(p);
  assert.equal(store.schemaVersion(), latestVersion());
  assert.deepEqual(
    store.db.prepare('SELECT ai_score, ai_score_model, ai_model_name, ai_model_version FROM studies ORDER BY id').all(),
    [{ ai_score: 70, ai_score_model: 'ab', ai_model_name: 'm', ai_model_version: '1' }, { ai_score: null, ai_score_model: null, ai_model_name: null, ai_model_version: null }],
  );
  const t = thresholdInForce(store.db, { name: 'm', version: '1', sha256: 'ab', defaultThreshold: 50 });
  const q = { sort: { key: 'aiScore' as const, dir: 'desc' as const }, filter: {}, offset: 0, limit: 5 };
  const rows = store.findCasesForWorklist(q, { modelSha256: t.pack.sha256, threshold: t.value }).rows.map((r) => flagWorklistRow(r, t));
  assert.deepEqual(rows.map((r) => [r.aiScore, r.flagged]), [[70, true], [null, false]]);
  const plan = store.db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM studies ORDER BY ${worklistOrder('aiScore', 'desc')} LIMIT 5`).all() as { detail: string }[];
  assert.ok(plan.some((s) => /USING (COVERING )?INDEX studies_score_desc/.test(s.detail)), JSON.stringify(plan));
  store.close();
});
