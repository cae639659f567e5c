import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, toErrorInfo } from '../errors';
import { saveAnnotationVersion } from '../annotations/index';
import { assertCaseEditable, assertImageEditable, caseLockState } from './lock';
import { storeWithCase } from './testSupport';

// Raw rows, so that this test of the lock does not depend on the signing service (tested in signoff.test.ts).
function sign(db: import('better-sqlite3').Database, caseId: number, sequence: number): number {
  db.prepare("INSERT OR IGNORE INTO users (id, username, display_name, role, password_hash, created_at, created_by) VALUES (1, 'rad', 'Dr Rad', 'radiologist', 'x', 't', 'test')").run();
  return Number(
    db
      .prepare("INSERT INTO signatures (case_ref, sequence, signer_ref, signer_name, signed_at, content_json, content_sha256, report_present) VALUES (?, ?, 1, 'Dr Rad', '2026-01-01T00:00:00Z', '{}', 'h', 0)")
      .run(caseId, sequence).lastInsertRowid,
  );
}

test('an unsigned case is editable; a signed one is not until an amendment is opened', () => {
  const { store, caseId, imageId } = storeWithCase();
  const db = store.db;
  assert.doesNotThrow(() => assertCaseEditable(db, caseId));
  const sigId = sign(db, caseId, 1);
  assert.deepEqual(caseLockState(db, caseId).signed, true);
  assert.throws(() => assertCaseEditable(db, caseId), (e: unknown) => e instanceof AppError && e.code === 'CASE_SIGNED' && /Dr Rad/.test(e.message));
  assert.throws(() => assertImageEditable(db, imageId), (e: unknown) => e instanceof AppError && e.code === 'CASE_SIGNED');

  db.prepare("INSERT INTO amendments (case_ref, amends_signature_ref, reason, opened_by_ref, opened_by_name, opened_at) VALUES (?, ?, 'wrong zone', 1, 'Dr Rad', 't')").run(caseId, sigId);
  assert.doesNotThrow(() => assertCaseEditable(db, caseId));
  assert.equal(caseLockState(db, caseId).amendmentOpen, true);

  const sig2 = sign(db, caseId, 2);
  db.prepare('UPDATE amendments SET signature_ref = ? WHERE case_ref = ?').run(sig2, caseId);
  assert.throws(() => assertCaseEditable(db, caseId), (e: unknown) => e instanceof AppError && e.code === 'CASE_SIGNED');
  store.close();
});

test('the database itself refuses a new annotation version of a signed case, and the error keeps its code', () => {
  const { store, caseId, imageId } = storeWithCase();
  saveAnnotationVersion(store.db, imageId, { author: 'a', baseVersion: 0, findings: [], masks: [] });
  sign(store.db, caseId, 1);
  // the annotation service refuses with the lock's message
  assert.throws(() => saveAnnotationVersion(store.db, imageId, { author: 'a', baseVersion: 1, findings: [], masks: [] }), (e: unknown) => e instanceof AppError && e.code === 'CASE_SIGNED');
  // a write that bypasses the services is refused by the trigger, and the error keeps its code
  let thrown: unknown;
  try {
    store.db.prepare("INSERT INTO annotation_versions (image_ref, version, author, saved_at, findings_json) VALUES (?, 2, 'a', 't', '[]')").run(imageId);
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, 'the insert was refused');
  assert.equal(toErrorInfo(thrown).code, 'CASE_SIGNED');
  assert.equal(store.db.prepare('SELECT count(*) FROM annotation_versions').pluck().get(), 1);
  // signatures cannot be rewritten
  assert.throws(() => store.db.prepare("UPDATE signatures SET content_sha256 = 'forged'").run(), /CASE_SIGNED/);
  assert.throws(() => store.db.prepare('DELETE FROM signatures').run(), /CASE_SIGNED/);
  store.close();
});
