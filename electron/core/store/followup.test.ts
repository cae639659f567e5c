// A signed case never gains an image: a later image of its study opens a follow-up case linked to it (store rule,
// database triggers), and migration 100 moves the late images an older store let into signed cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { CaseStore } from './index';
import { runMigrations, latestVersion } from './migrate';
import { migrations } from './migrations/index';
import { verifyAudit, listAudit } from '../accounts/audit';
import { tempDbPath } from '../../testing/index';
import { testImageRecord } from '../../testing/records';

/** Image i of study 1.9.<study>, series 1.9.<study>.<series>. */
function imageOf(study: number, i: number, series = 1) {
  const r = testImageRecord(i, { tag: 'fu' });
  return { ...r, patient: { ...r.patient, patientId: `P${study}`, patientName: `Patient^${study}` }, study: { ...r.study, studyInstanceUid: `1.9.${study}` }, series: { ...r.series, seriesInstanceUid: `1.9.${study}.${series}` }, image: { ...r.image, sopInstanceUid: `1.9.${study}.${series}.${i}` } };
}

function addSignature(db: Database.Database, caseId: number, imageIds: number[]): void {
  if (!db.prepare('SELECT 1 FROM users WHERE id = 1').get()) {
    db.prepare("INSERT INTO users (id, username, display_name, role, password_hash, created_at, created_by) VALUES (1, 'rad', 'Dr Rad', 'radiologist', 'x', 'then', 'test')").run();
  }
  const content = JSON.stringify({ format: 'cxr-signoff/1', case: { caseId }, images: imageIds.map((imageId) => ({ imageId })), report: null, amendment: null });
  const sequence = ((db.prepare('SELECT max(sequence) FROM signatures WHERE case_ref = ?').pluck().get(caseId) as number | null) ?? 0) + 1;
  db.prepare('INSERT INTO signatures (case_ref, sequence, signer_ref, signer_name, signed_at, content_json, content_sha256, report_present) VALUES (?, ?, 1, ?, ?, ?, ?, 0)').run(
    caseId, sequence, 'Dr Rad', '2026-01-02T00:00:00.000Z', content, createHash('sha256').update(content).digest('hex'),
  );
}

test('an image for a signed study opens a follow-up case; the signed case keeps exactly its images', () => {
  const store = CaseStore.open(tempDbPath());
  try {
    const first = store.insertImage(imageOf(7, 1));
    assert.equal(first.followsCaseId, null);
    const second = store.insertImage(imageOf(7, 2));
    assert.equal(second.caseId, first.caseId, 'before signing, images of one study share its case');
    addSignature(store.db, first.caseId, [first.imageId, second.imageId]);

    const late = store.insertImage(imageOf(7, 3));
    assert.notEqual(late.caseId, first.caseId);
    assert.equal(late.followsCaseId, first.caseId);
    const signed = store.getCase(first.caseId);
    assert.deepEqual(signed.images.map((i) => i.imageId), [first.imageId, second.imageId]);
    assert.deepEqual(signed.followUpCaseIds, [late.caseId]);
    const followUp = store.getCase(late.caseId);
    assert.equal(followUp.studyInstanceUid, signed.studyInstanceUid, 'the same study');
    assert.equal(followUp.followsCaseId, first.caseId);
    assert.equal(followUp.status, 'new');

    // another late image, of another series of the study, joins the open follow-up
    const later = store.insertImage(imageOf(7, 4, 2));
    assert.equal(later.caseId, late.caseId);
    assert.equal(later.followsCaseId, first.caseId);
    const rows = store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'asc' }, filter: {}, offset: 0, limit: 10 }).rows;
    assert.deepEqual(rows.map((r) => [r.caseId, r.imageCount, r.followsCaseId]), [[first.caseId, 2, null], [late.caseId, 2, first.caseId]]);

    // once the follow-up is signed too, the next image opens a follow-up of the follow-up
    addSignature(store.db, late.caseId, [late.imageId, later.imageId]);
    const third = store.insertImage(imageOf(7, 5));
    assert.deepEqual([third.followsCaseId, store.getCase(third.caseId).followsCaseId], [late.caseId, late.caseId]);

    // the rule holds below the store's own code: a row naming a signed case's series is refused by the database
    const seriesOfSigned = store.db.prepare('SELECT id FROM series WHERE study_ref = ?').pluck().get(first.caseId) as number;
    assert.throws(
      () => store.db.prepare("INSERT INTO images (sop_instance_uid, series_ref, rows, columns, bits_stored, photometric, rescale_slope, rescale_intercept, min_pixel, max_pixel, windows_json, pixel_sha256, source_name, source_sha256, source_format, imported_at) VALUES ('x', ?, 1, 1, 8, 'MONOCHROME2', 1, 0, 0, 0, '[]', 'p', 'n', 's', 'png', 'now')").run(seriesOfSigned),
      /CASE_SIGNED: a signed case never gains an image/,
    );
    assert.throws(() => store.db.prepare("INSERT INTO series (series_instance_uid, study_ref) VALUES ('1.9.7.9', ?)").run(first.caseId), /CASE_SIGNED/);
    assert.throws(() => store.db.prepare('UPDATE images SET series_ref = ? WHERE id = ?').run(seriesOfSigned, third.imageId), /CASE_SIGNED/);
  } finally {
    store.close();
  }
});

test('a series cannot span two studies, also across a follow-up', () => {
  const store = CaseStore.open(tempDbPath());
  try {
    store.insertImage(imageOf(8, 1));
    const wrong = imageOf(9, 2);
    wrong.series.seriesInstanceUid = '1.9.8.1';
    assert.throws(() => store.insertImage(wrong), /already belongs to another study/);
  } finally {
    store.close();
  }
});

test('migration 90 -> 100: late images of signed cases move to a follow-up, every row and id kept, the lookups indexed', () => {
  const p = tempDbPath();
  const db = new Database(p);
  runMigrations(db, migrations.filter((m) => m.version <= 90));
  assert.equal(db.pragma('user_version', { simple: true }), 90);
  db.pragma('foreign_keys = ON');
  // Written as version 90 did: case 1 signed with image 1, then image 2 let in (and analysed);
  // case 2 unsigned with two images; case 3 signed and amended and signed again over both its images.
  const insert = (study: number, i: number, series = 1) => {
    const r = imageOf(study, i, series);
    db.prepare('INSERT OR IGNORE INTO patients (patient_id, patient_name) VALUES (?, ?)').run(r.patient.patientId, r.patient.patientName);
    const patient = db.prepare('SELECT id FROM patients WHERE patient_id = ?').pluck().get(r.patient.patientId);
    let caseId = db.prepare('SELECT id FROM studies WHERE study_instance_uid = ?').pluck().get(r.study.studyInstanceUid) as number | undefined;
    if (caseId === undefined) {
      caseId = Number(
        db.prepare("INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text, modality, view) VALUES (?, ?, ?, ?, ?, ?, 'CR', 'PA')")
          .run(r.study.studyInstanceUid, patient, `2026-01-0${i}T00:00:00Z`, r.patient.patientName, r.patient.patientId, r.patient.patientName.toLowerCase()).lastInsertRowid,
      );
    }
    let seriesId = db.prepare('SELECT id FROM series WHERE series_instance_uid = ?').pluck().get(r.series.seriesInstanceUid) as number | undefined;
    if (seriesId === undefined) seriesId = Number(db.prepare("INSERT INTO series (series_instance_uid, study_ref, modality, view_position) VALUES (?, ?, 'CR', 'PA')").run(r.series.seriesInstanceUid, caseId).lastInsertRowid);
    const imageId = Number(
      db.prepare("INSERT INTO images (sop_instance_uid, series_ref, rows, columns, bits_stored, photometric, rescale_slope, rescale_intercept, min_pixel, max_pixel, windows_json, pixel_sha256, source_name, source_sha256, source_format, imported_at) VALUES (?, ?, 64, 64, 12, 'MONOCHROME2', 1, 0, 0, 4095, '[]', ?, ?, ?, 'png', ?)")
        .run(r.image.sopInstanceUid, seriesId, r.image.pixelSha256, r.image.sourceName, r.image.sourceSha256, `2026-01-0${i}T00:00:00Z`).lastInsertRowid,
    );
    db.prepare('UPDATE studies SET image_count = image_count + 1, first_image_id = coalesce(first_image_id, ?) WHERE id = ?').run(imageId, caseId);
    return { caseId, imageId };
  };
  const a1 = insert(1, 1);
  addSignature(db, a1.caseId, [a1.imageId]);
  db.prepare("UPDATE studies SET status = 'signed' WHERE id = ?").run(a1.caseId);
  const a2 = insert(1, 2);
  db.prepare("INSERT INTO analyses (image_ref, model_name, model_version, model_sha256, execution_provider, tb_score, label, result_json, created_at) VALUES (?, 'm', '1', 'x', 'cpu', 88.5, 'tb', '{}', 'now')").run(a2.imageId);
  db.prepare("INSERT INTO received_instances (via, sop_instance_uid, outcome, case_ref, image_ref, received_at) VALUES ('receiver', '1.9.1.1.2', 'imported', ?, ?, 'now')").run(a1.caseId, a2.imageId);
  const b1 = insert(2, 3);
  const b2 = insert(2, 4);
  const c1 = insert(3, 5);
  const c2 = insert(3, 6, 2);
  addSignature(db, c1.caseId, [c1.imageId]);
  addSignature(db, c1.caseId, [c1.imageId, c2.imageId]);
  const before = {
    images: db.prepare('SELECT id, sop_instance_uid FROM images ORDER BY id').all(),
    studies: db.prepare('SELECT id, study_instance_uid FROM studies ORDER BY id').all(),
  };
  db.close();

  const store = CaseStore.open(p);
  try {
    assert.equal(store.schemaVersion(), latestVersion());
    const db2 = store.db;
    assert.deepEqual(db2.pragma('foreign_key_check'), []);
    assert.equal(db2.pragma('foreign_keys', { simple: true }), 1, 'foreign keys back on after the upgrade');
    assert.deepEqual(db2.prepare('SELECT id, sop_instance_uid FROM images ORDER BY id').all(), before.images, 'every image, same ids');
    const followUp = db2.prepare('SELECT id FROM studies WHERE follows_case_ref = ?').pluck().all(a1.caseId) as number[];
    assert.equal(followUp.length, 1);
    assert.deepEqual(
      db2.prepare('SELECT id, study_instance_uid FROM studies WHERE id <> ? ORDER BY id').all(followUp[0]),
      before.studies,
      'the cases there were keep their ids',
    );
    const signedCase = store.getCase(a1.caseId);
    assert.deepEqual(signedCase.images.map((i) => i.imageId), [a1.imageId], 'the signed case holds what was signed');
    assert.deepEqual(signedCase.followUpCaseIds, followUp);
    const moved = store.getCase(followUp[0]);
    assert.deepEqual(moved.images.map((i) => i.imageId), [a2.imageId]);
    assert.equal(moved.studyInstanceUid, '1.9.1');
    const row = store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'asc' }, filter: {}, offset: 0, limit: 10 }).rows.find((r) => r.caseId === followUp[0])!;
    assert.deepEqual([row.imageCount, row.aiScore, row.status, row.followsCaseId], [1, 88.5, 'analyzed', a1.caseId]);
    assert.equal(store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'asc' }, filter: {}, offset: 0, limit: 10 }).rows.find((r) => r.caseId === a1.caseId)!.imageCount, 1);
    assert.equal(db2.prepare('SELECT count(*) FROM analyses WHERE image_ref = ?').pluck().get(a2.imageId), 1, 'its reading went with it');
    assert.equal(db2.prepare('SELECT case_ref FROM received_instances WHERE image_ref = ?').pluck().get(a2.imageId), followUp[0]);
    assert.deepEqual(store.getCase(b1.caseId).images.map((i) => i.imageId), [b1.imageId, b2.imageId], 'unsigned cases untouched');
    assert.deepEqual(store.getCase(c1.caseId).images.map((i) => i.imageId), [c1.imageId, c2.imageId], 'a signature that covers every image keeps them');
    const audit = verifyAudit(db2);
    assert.equal(audit.ok, true);
    const entry = listAudit(db2, { targetType: 'case', targetId: followUp[0] })[0];
    assert.equal(entry.action, 'case.follow_up');
    assert.deepEqual(entry.details.imageIds, [a2.imageId]);

    // the hot lookups of the import use indexes
    const plan = (sql: string) => (db2.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((x) => x.detail).join(' | ');
    assert.match(plan("SELECT id FROM studies WHERE study_instance_uid = '1.9.1' ORDER BY id DESC LIMIT 1"), /USING (COVERING )?INDEX studies_uid/);
    assert.match(plan("SELECT id FROM series WHERE series_instance_uid = '1.9.1.1' AND study_ref = 1"), /USING (COVERING )?INDEX sqlite_autoindex_series/);
    assert.match(plan('SELECT id FROM studies WHERE follows_case_ref = 1'), /USING (COVERING )?INDEX studies_follows/);
    // and the new rule holds in the upgraded store
    const next = store.insertImage(imageOf(1, 9));
    assert.equal(next.caseId, followUp[0], 'a later image joins the open follow-up');
  } finally {
    store.close();
  }
});
