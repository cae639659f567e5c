import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { AppError } from '../errors';
import { CaseStore } from '../store/index';
import { testImageRecord } from '../../testing/records';
import { runMigrations } from '../store/migrate';
import { migrations } from '../store/migrations/index';
import { saveAnnotationVersion, loadAnnotations, type Finding } from '../annotations/index';
import { createUser } from '../accounts/users';
import { signCase, openAmendment } from '../accounts/signoff';
import { tempDbPath } from '../../testing/index';
import { answerQuestion, imageFacts, listReportVersions, loadReport, redraftReport, saveReportText } from './index';

const W = 200;
const H = 200;
// Patient's right lung on the image's left half, left lung on the right half (a PA view), rows 20..180.
const LUNGS = {
  right: [[20, 20], [90, 20], [90, 180], [20, 180]] as [number, number][],
  left: [[110, 20], [180, 20], [180, 180], [110, 180]] as [number, number][],
};


function record(i: number, over: { view?: string | null; format?: string } = {}) {
  return testImageRecord(i, { rows: H, columns: W, modality: 'DX', viewPosition: over.view, sourceFormat: over.format ?? 'dicom', sex: 'F', studyDate: '20260301', tag: 'rep' });
}

/** A case whose AI reading proposes one active box in the right upper zone, score 60. */
function setup(over: { tbScore?: number; boxes?: { x: number; y: number; w: number; h: number; label: string; score: number }[] } = {}) {
  const store = CaseStore.open(tempDbPath());
  const { caseId, imageId } = store.insertImage(record(1));
  store.saveAnalysis({
    imageId,
    model: { name: 'cxr-tb-v1', version: '1.0.0', sha256: 'x', ep: 'cpu' },
    tbScore: over.tbScore ?? 60,
    label: 'tb',
    result: { threshold: 8.953532, boxes: over.boxes ?? [{ x: 30, y: 30, w: 40, h: 30, label: 'ActiveTuberculosis', score: 0.9 }], lungs: LUNGS, zones: [] },
  });
  return { store, db: store.db, caseId, imageId };
}

const who = { userId: null, username: 'rad', displayName: 'Dr Rad' };
const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof AppError && e.code === c && (!re || re.test(e.message));

function userBox(id: string, x: number, y: number, label = 'ActiveTuberculosis'): Finding {
  return { id, kind: 'box', x, y, w: 30, h: 20, label, provenance: { source: 'user', author: 'rad' }, state: 'added' };
}

test('an analysed case reads as a draft from the AI proposal, zones from the model\'s lung outlines', () => {
  const { store, db, caseId } = setup();
  const r = loadReport(db, caseId);
  assert.equal(r.source, 'draft');
  assert.equal(r.version, 0);
  assert.equal(r.stale, false);
  assert.equal(r.locked, false);
  assert.equal(r.text, r.draftText);
  assert.match(r.sections!.findings, /^One lesion with features of active tuberculosis in the right upper zone\. No lesion is marked in the left lung\.$/);
  assert.match(r.sections!.technique, /posteroanterior \(PA\) view/);
  assert.equal(r.facts.images[0].findings[0].zoneMethod, 'lung_outline');
  assert.match(r.findingsFingerprint, /^[0-9a-f]{64}$/);
  store.close();
});

test('the draft follows the reader\'s corrections: rejected boxes vanish, added ones appear with their zone', () => {
  const { store, db, caseId, imageId } = setup();
  const ai = loadAnnotations(db, imageId).findings[0];
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 0, findings: [{ ...ai, state: 'rejected' }, userBox('u1', 130, 150, 'ObsoletePulmonaryTuberculosis')], masks: [] });
  const r = loadReport(db, caseId);
  assert.equal(r.source, 'draft');
  assert.equal(r.sections!.findings, 'One obsolete (healed) tuberculous lesion in the left lower zone. No lesion is marked in the right lung.');
  assert.doesNotMatch(r.text, /right upper/);
  assert.equal(r.facts.images[0].rejected, 1);
  // all rejected: no lesion text at all
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 1, findings: [{ ...ai, state: 'rejected' }], masks: [] });
  assert.equal(loadReport(db, caseId).sections!.findings, 'No tuberculosis-related lesion is marked in either lung.');
  store.close();
});

test('edited text sticks; a later change of findings marks it stale and never overwrites it; re-draft follows again', () => {
  const { store, db, caseId, imageId } = setup();
  const first = loadReport(db, caseId);
  const edited = first.text.replace('One lesion with features', 'A single patchy lesion with features');
  const saved = saveReportText(db, caseId, { baseVersion: 0, text: edited, findingsFingerprint: first.findingsFingerprint }, who, '2026-03-01T10:00:00.000Z');
  assert.equal(saved.source, 'edited');
  assert.equal(saved.version, 1);
  assert.equal(saved.author, 'Dr Rad');
  assert.equal(saved.savedAt, '2026-03-01T10:00:00.000Z');
  assert.equal(saved.text, edited);
  assert.equal(saved.stale, false);
  assert.match(saved.sections!.findings, /A single patchy lesion/);

  // the reader adds a finding: the text stays theirs, the report says it is stale
  const ai = loadAnnotations(db, imageId).findings[0];
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 0, findings: [{ ...ai, state: 'accepted' }, userBox('u2', 140, 40)], masks: [] });
  const stale = loadReport(db, caseId);
  assert.equal(stale.text, edited);
  assert.equal(stale.stale, true);
  assert.match(stale.draftText, /left upper zone/);

  // a save built on an old version is refused, nothing written
  assert.throws(() => saveReportText(db, caseId, { baseVersion: 0, text: 'x' }, who), code('REPORT_VERSION_STALE', /changed elsewhere \(version 1 saved by Dr Rad/));
  assert.throws(() => saveReportText(db, caseId, { baseVersion: 1, text: '  \n ' }, who), code('BAD_REQUEST', /empty/));
  assert.throws(() => saveReportText(db, caseId, { baseVersion: 1, text: 'y'.repeat(100_001) }, who), code('BAD_REQUEST', /at most 100000/));
  assert.equal(listReportVersions(db, caseId).length, 1);

  // saving the same text again stores nothing
  assert.equal(saveReportText(db, caseId, { baseVersion: 1, text: `${edited}\n\n` }, who).version, 1);

  const re = redraftReport(db, caseId, 1, who);
  assert.equal(re.version, 2);
  assert.equal(re.source, 'draft');
  assert.equal(re.stale, false);
  assert.equal(re.text, stale.draftText);
  // following the findings again
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 1, findings: [{ ...ai, state: 'rejected' }], masks: [] });
  const after = loadReport(db, caseId);
  assert.equal(after.source, 'draft');
  assert.match(after.text, /No tuberculosis-related lesion is marked/);
  assert.deepEqual(listReportVersions(db, caseId).map((v) => [v.version, v.source, v.author]), [[2, 'draft', 'Dr Rad'], [1, 'edited', 'Dr Rad']]);
  // every save is in the audit log
  assert.deepEqual((db.prepare("SELECT action FROM audit_log WHERE target_type = 'case' ORDER BY id").pluck().all() as string[]), ['report.save', 'report.redraft']);
  store.close();
});

test('text saved without a fingerprint is stamped with the findings current at the save', () => {
  const { store, db, caseId } = setup();
  const r = saveReportText(db, caseId, { baseVersion: 0, text: 'IMPRESSION only, free text.' }, who);
  assert.equal(r.stale, false);
  assert.equal(r.sections, null);
  assert.throws(() => saveReportText(db, caseId, { baseVersion: 1, text: 'z', findingsFingerprint: 'nope' }, who), code('BAD_REQUEST', /fingerprint/));
  store.close();
});

test('a signed case is locked: its report reads as signed, saves and re-drafts are refused until an amendment', async () => {
  const { store, db, caseId } = setup();
  const admin = await createUser(db, { username: 'admin', displayName: 'Admin', role: 'administrator', password: 'admin-pass-1' }, { userId: null, username: 'x' }, { firstAdministrator: true });
  const rad = await createUser(db, { username: 'rad', displayName: 'Dr Ada Rad', role: 'radiologist', password: 'rad-pass-123' }, { userId: admin.id, username: 'admin' });
  const signer = { userId: rad.id, username: rad.username, displayName: rad.displayName, role: rad.role };
  const mine = saveReportText(db, caseId, { baseVersion: 0, text: 'My signed words.' }, who);
  signCase(db, caseId, signer);
  const locked = loadReport(db, caseId);
  assert.equal(locked.locked, true);
  assert.equal(locked.text, 'My signed words.');
  assert.equal(locked.signed?.signerName, 'Dr Ada Rad');
  assert.throws(() => saveReportText(db, caseId, { baseVersion: mine.version, text: 'changed' }, who), code('CASE_SIGNED'));
  assert.throws(() => redraftReport(db, caseId, mine.version, who), code('CASE_SIGNED'));
  // the table itself refuses a version of a signed case, and any rewrite of history
  assert.throws(() => db.prepare("INSERT INTO report_versions (case_ref, version, source, text, findings_fingerprint, author, saved_at) VALUES (?, 9, 'edited', 't', 'f', 'a', 'n')").run(caseId), /CASE_SIGNED/);
  assert.throws(() => db.prepare('UPDATE report_versions SET text = ?').run('rewritten'), /REPORT_APPEND_ONLY/);
  assert.throws(() => db.prepare('DELETE FROM report_versions').run(), /REPORT_APPEND_ONLY/);

  openAmendment(db, caseId, 'Add the left lung finding', signer);
  const amended = saveReportText(db, caseId, { baseVersion: mine.version, text: 'My amended words.' }, who);
  assert.equal(amended.text, 'My amended words.');
  assert.equal(amended.locked, false);
  store.close();
});

test('zones come from the reader\'s lung masks when both are drawn', () => {
  const { store, db, caseId, imageId } = setup();
  // masks that put the lungs in the lower half only: a box at y 30..60 falls outside, one at y 150 in the upper third of them
  const pack = (x0: number, x1: number) => {
    const bits = new Uint8Array(Math.ceil((W * H) / 8));
    for (let y = 120; y < 200; y++) for (let x = x0; x < x1; x++) bits[(y * W + x) >> 3] |= 0x80 >> ((y * W + x) & 7);
    return bits;
  };
  saveAnnotationVersion(db, imageId, {
    author: 'rad', baseVersion: 0,
    findings: [userBox('u1', 30, 125)],
    masks: [
      { id: 'r', label: 'right_lung', source: 'user', width: W, height: H, packed: pack(20, 90) },
      { id: 'l', label: 'left_lung', source: 'user', width: W, height: H, packed: pack(110, 180) },
    ],
  });
  const f = loadReport(db, caseId).facts.images[0].findings[0];
  assert.equal(f.zoneMethod, 'lung_mask');
  assert.equal(f.side, 'right');
  assert.deepEqual(f.zones, ['upper']);
  store.close();
});

test('questions are answered from the current, corrected findings', () => {
  const { store, db, imageId } = setup();
  assert.match(answerQuestion(imageFacts(db, imageId), 'is the left lung affected?').answer, /^No/);
  const ai = loadAnnotations(db, imageId).findings[0];
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 0, findings: [{ ...ai, state: 'rejected' }, userBox('u1', 130, 150)], masks: [] });
  const a = answerQuestion(imageFacts(db, imageId), 'is the left lung affected?');
  assert.match(a.answer, /^Yes: the left lung has one lesion/);
  assert.deepEqual(a.evidence.zones, [{ side: 'left', zone: 'lower' }]);
  assert.match(answerQuestion(imageFacts(db, imageId), 'Is the right lung affected?').answer, /^No/);
  assert.throws(() => imageFacts(db, 999), code('NOT_FOUND'));
  assert.throws(() => loadReport(db, 999), code('NOT_FOUND'));
  store.close();
});

test('a PNG without a view and without an analysis: honest technique, no AI claims', () => {
  const store = CaseStore.open(tempDbPath());
  const { caseId } = store.insertImage(record(2, { view: null, format: 'png' }));
  const r = loadReport(store.db, caseId);
  assert.match(r.sections!.technique, /PA\/AP view not stated\. Imported from a PNG file/);
  assert.equal(r.sections!.aiScore, 'No AI reading is available for this image.');
  store.close();
});

test('migration 60 adds report versions to a version-50 database, keeping its rows; the latest-version read uses the unique index', () => {
  const path = tempDbPath();
  const db = new Database(path);
  runMigrations(db, migrations.filter((m) => m.version <= 50));
  db.prepare("INSERT INTO patients (patient_id, patient_name) VALUES ('P', 'N')").run();
  db.prepare("INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text) VALUES ('1.2', 1, 'now', 'N', 'P', 'n p')").run();
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'report_versions'").pluck().get(), 0);
  runMigrations(db);
  assert.equal(db.pragma('user_version', { simple: true }), migrations[migrations.length - 1].version);
  assert.equal(db.prepare('SELECT count(*) FROM studies').pluck().get(), 1);
  const plan = (db.prepare('EXPLAIN QUERY PLAN SELECT version FROM report_versions WHERE case_ref = ? ORDER BY version DESC LIMIT 1').all(1) as { detail: string }[]).map((p) => p.detail).join(' ');
  assert.match(plan, /USING (COVERING )?INDEX sqlite_autoindex_report_versions_1/);
  assert.doesNotMatch(plan, /TEMP B-TREE/);
  db.close();
});
