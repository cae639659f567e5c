import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors';
import { saveAnnotationVersion, type Finding } from '../annotations/index';
import { createUser } from './users';
import { signCase, openAmendment, signoffState, loadSignature } from './signoff';
import { assertCaseEditable } from './lock';
import { listAudit, verifyAudit, sha256Hex } from './audit';
import { storeWithCase } from './testSupport';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

function box(id: string, x: number): Finding {
  return { id, kind: 'box', x, y: 10, w: 20, h: 20, label: 'ActiveTuberculosis', provenance: { source: 'user', author: 'rad' }, state: 'added' };
}

async function setup() {
  const { store, caseId, imageId } = storeWithCase();
  const db = store.db;
  const admin = await createUser(db, { username: 'admin', displayName: 'Admin', role: 'administrator', password: 'admin-pass-1' }, { userId: null, username: 'x' }, { firstAdministrator: true });
  const by = { userId: admin.id, username: 'admin' };
  const rad = await createUser(db, { username: 'rad', displayName: 'Dr Ada Rad', role: 'radiologist', password: 'rad-pass-123' }, by);
  const tech = await createUser(db, { username: 'tech', displayName: 'Tom Tech', role: 'technician', password: 'tech-pass-1' }, by);
  const signer = (u: typeof rad) => ({ userId: u.id, username: u.username, displayName: u.displayName, role: u.role });
  return { store, db, caseId, imageId, rad: signer(rad), tech: signer(tech), admin: signer(admin) };
}

test('only a radiologist signs; signing snapshots the annotations with a hash, sets the status and locks the case', async () => {
  const { store, db, caseId, imageId, rad, tech, admin } = await setup();
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 0, findings: [box('f1', 5)], masks: [] });
  assert.throws(() => signCase(db, caseId, tech), (e: unknown) => e instanceof AppError && e.code === 'FORBIDDEN' && /Only a radiologist/.test(e.message));
  assert.throws(() => signCase(db, caseId, admin), code('FORBIDDEN'));
  assert.equal(signoffState(db, caseId).signed, false);
  assert.equal(signoffState(db, caseId).undecidedFindings, 0, 'the saved version holds only a user box');

  const s = signCase(db, caseId, rad, '2026-03-01T10:00:00.000Z');
  assert.equal(s.status, 'signed');
  assert.equal(s.locked, true);
  assert.equal(s.signatures.length, 1);
  assert.equal(s.signatures[0].signerName, 'Dr Ada Rad');
  assert.equal(s.signatures[0].reportPresent, true);
  const rec = loadSignature(db, s.signatures[0].id);
  assert.equal(rec.intact, true);
  assert.equal(rec.content.images[0].annotations.version, 1);
  assert.deepEqual(rec.content.images[0].annotations.findings.map((f) => f.id), ['f1']);
  // the report text as the reporting service gave it at signing (a draft written from the findings here)
  assert.equal(typeof rec.content.report?.text, 'string');
  assert.ok(rec.content.report!.text.length > 20);
  assert.equal(sha256Hex(db.prepare('SELECT content_json FROM signatures').pluck().get() as string), s.signatures[0].contentSha256);
  assert.equal(store.getCase(caseId).status, 'signed');

  // locked: no new annotation version, no second signature
  assert.throws(() => assertCaseEditable(db, caseId), code('CASE_SIGNED'));
  assert.throws(() => saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 1, findings: [], masks: [] }), code('CASE_SIGNED'));
  assert.throws(() => signCase(db, caseId, rad), (e: unknown) => e instanceof AppError && e.code === 'CASE_SIGNED' && /already signed/.test(e.message));
  store.close();
});

test('an amendment: a reason, a radiologist, a new version linked to the signed one, signed again; the signed version stays viewable', async () => {
  const { store, db, caseId, imageId, rad, tech } = await setup();
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 0, findings: [box('f1', 5)], masks: [] });
  assert.throws(() => openAmendment(db, caseId, 'too early', rad), /not signed yet/);
  const first = signCase(db, caseId, rad).signatures[0];
  assert.throws(() => openAmendment(db, caseId, '   ', rad), code('BAD_REQUEST'));
  assert.throws(() => openAmendment(db, caseId, 'box in the wrong zone', tech), code('FORBIDDEN'));
  const opened = openAmendment(db, caseId, 'box in the wrong zone', rad, '2026-03-02T09:00:00.000Z');
  assert.equal(opened.status, 'in_review');
  assert.equal(opened.locked, false);
  assert.equal(opened.openAmendment?.reason, 'box in the wrong zone');
  assert.equal(opened.openAmendment?.amendsSignatureId, first.id);
  assert.throws(() => openAmendment(db, caseId, 'again', rad), /already open/);

  // the correction is a new annotation version
  saveAnnotationVersion(db, imageId, { author: 'rad', baseVersion: 1, findings: [box('f1', 40)], masks: [] });
  const signed = signCase(db, caseId, rad);
  assert.equal(signed.locked, true);
  assert.equal(signed.status, 'signed');
  assert.equal(signed.openAmendment, null);
  assert.deepEqual(signed.signatures.map((s) => s.sequence), [2, 1]);
  assert.equal(signed.signatures[0].amendment?.reason, 'box in the wrong zone');
  assert.equal(signed.signatures[1].amendment, null);

  const v1 = loadSignature(db, first.id);
  const v2 = loadSignature(db, signed.signatures[0].id);
  assert.equal(v1.content.images[0].annotations.findings[0].x, 5, 'the first signed version is kept as it was');
  assert.equal(v2.content.images[0].annotations.findings[0].x, 40);
  assert.equal(v2.content.images[0].annotations.version, 2);
  assert.deepEqual(v2.content.amendment, { id: opened.openAmendment!.id, reason: 'box in the wrong zone', openedBy: 'Dr Ada Rad', openedAt: '2026-03-02T09:00:00.000Z', amendsSequence: 1 });
  assert.notEqual(v1.signature.contentSha256, v2.signature.contentSha256);

  const actions = listAudit(db, { targetType: 'case', targetId: caseId }).map((e) => e.action).reverse();
  assert.deepEqual(actions, ['case.sign', 'case.amend', 'case.sign_amendment']);
  assert.equal(verifyAudit(db).ok, true);
  store.close();
});

test('a stored snapshot that no longer matches its hash is reported as not intact', async () => {
  const { store, db, caseId, rad } = await setup();
  const sig = signCase(db, caseId, rad).signatures[0];
  db.exec('DROP TRIGGER signatures_no_update');
  db.prepare("UPDATE signatures SET content_json = replace(content_json, 'Patient^1', 'Patient^X')").run();
  assert.equal(loadSignature(db, sig.id).intact, false);
  store.close();
});
