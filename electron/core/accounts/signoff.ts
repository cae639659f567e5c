// Sign-off: a radiologist signs a case, which snapshots exactly what was signed (the report text and the annotation
// version of each image), hashes the snapshot, and locks the case (lock.ts). A later change is an amendment: opened
// by a radiologist with a reason, it unlocks the case, and the next signature closes it. Signatures are never
// changed or removed (triggers in migration 0050), so every signed version stays viewable.
import type { Database } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { loadAnnotations, type Finding } from '../annotations/index';
import { imageFacts, reportForSignature } from '../reporting/store';
import type { AiReading } from '../reporting/facts';
import { appendAudit, canonicalJson, sha256Hex, type AuditActor } from './audit';
import { caseLockState } from './lock';
import type { Role } from './users';

export const SIGNED_CONTENT_FORMAT = 'cxr-signoff/1';

export interface SignedImage {
  imageId: number;
  sopInstanceUid: string;
  pixelSha256: string;
  annotations: {
    /** 0: nothing was saved, the AI's proposal as it stood */
    version: number;
    author: string | null;
    savedAt: string | null;
    analysisId: number | null;
    findings: Finding[];
    masks: { id: string; label: string; source: string; width: number; height: number; sha256: string }[];
  };
  /**
   * The AI score and operating threshold in force when signed (a site head's score and a site threshold where the
   * station had them): the signed report, its exports and its answers keep them whatever is in force later.
   */
  ai?: AiReading | null;
}

export interface SignedContent {
  format: typeof SIGNED_CONTENT_FORMAT;
  case: { caseId: number; studyInstanceUid: string; patientId: string; patientName: string; accessionNumber: string | null; studyDate: string | null };
  images: SignedImage[];
  /** the report text as it stood at signing (reporting's reportForSignature); null only in records made without one */
  report: ReturnType<typeof reportForSignature> | null;
  amendment: { id: number; reason: string; openedBy: string; openedAt: string; amendsSequence: number } | null;
}

export interface Signer {
  userId: number;
  username: string;
  displayName: string;
  role: Role | null;
}

function requireRadiologist(who: Signer, what: string): void {
  if (who.role !== 'radiologist') throw new AppError('FORBIDDEN', `Only a radiologist can ${what}; you are signed in as ${who.role ?? 'no role'}.`);
}

interface CaseRow {
  id: number;
  study_instance_uid: string;
  patient_id: string;
  patient_name: string;
  accession_number: string | null;
  study_date: string | null;
  status: CaseStatus;
}

function requireCase(db: Database, caseId: number): CaseRow {
  const c = db.prepare('SELECT id, study_instance_uid, patient_id, patient_name, accession_number, study_date, status FROM studies WHERE id = ?').get(caseId) as
    | CaseRow
    | undefined;
  if (!c) throw new AppError('NOT_FOUND', `Case ${caseId} does not exist.`);
  return c;
}

/** What would be signed now: the current annotation version of every image of the case and its current report. */
export function snapshotCase(db: Database, caseId: number): Omit<SignedContent, 'amendment'> {
  const c = requireCase(db, caseId);
  const imgs = db
    .prepare('SELECT i.id, i.sop_instance_uid, i.pixel_sha256 FROM images i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = ? ORDER BY i.id')
    .all(caseId) as { id: number; sop_instance_uid: string; pixel_sha256: string }[];
  const images: SignedImage[] = imgs.map((i) => {
    const a = loadAnnotations(db, i.id);
    return {
      imageId: i.id,
      sopInstanceUid: i.sop_instance_uid,
      pixelSha256: i.pixel_sha256,
      annotations: {
        version: a.version,
        author: a.author,
        savedAt: a.savedAt,
        analysisId: a.analysisId,
        findings: a.findings,
        masks: a.masks.map((m) => ({ id: m.id, label: m.label, source: m.source, width: m.width, height: m.height, sha256: createHash('sha256').update(m.packed).digest('hex') })),
      },
      ai: imageFacts(db, i.id).ai,
    };
  });
  const report = reportForSignature(db, caseId);
  return {
    format: SIGNED_CONTENT_FORMAT,
    case: { caseId: c.id, studyInstanceUid: c.study_instance_uid, patientId: c.patient_id, patientName: c.patient_name, accessionNumber: c.accession_number, studyDate: c.study_date },
    images,
    report,
  };
}

export interface SignatureInfo {
  id: number;
  sequence: number;
  signerId: number;
  signerName: string;
  signedAt: string;
  contentSha256: string;
  reportPresent: boolean;
  /** the amendment this signature closed; null for the first signature */
  amendment: AmendmentInfo | null;
}

export interface AmendmentInfo {
  id: number;
  reason: string;
  openedBy: string;
  openedAt: string;
  amendsSignatureId: number;
  signatureId: number | null;
}

export type CaseStatus = 'new' | 'analyzed' | 'in_review' | 'signed';

export interface SignoffState {
  caseId: number;
  status: CaseStatus;
  signed: boolean;
  /** signed and not under amendment: the report and annotations cannot change */
  locked: boolean;
  openAmendment: AmendmentInfo | null;
  /** AI findings no one has accepted or rejected yet (the sign confirmation says so) */
  undecidedFindings: number;
  /** newest first */
  signatures: SignatureInfo[];
}

interface AmendmentRow {
  id: number;
  reason: string;
  opened_by_name: string;
  opened_at: string;
  amends_signature_ref: number;
  signature_ref: number | null;
}

function toAmendment(r: AmendmentRow): AmendmentInfo {
  return { id: r.id, reason: r.reason, openedBy: r.opened_by_name, openedAt: r.opened_at, amendsSignatureId: r.amends_signature_ref, signatureId: r.signature_ref };
}

export function signoffState(db: Database, caseId: number): SignoffState {
  const c = requireCase(db, caseId);
  const amendments = (db.prepare('SELECT * FROM amendments WHERE case_ref = ? ORDER BY id').all(caseId) as AmendmentRow[]).map(toAmendment);
  const bySignature = new Map(amendments.filter((a) => a.signatureId !== null).map((a) => [a.signatureId!, a]));
  const signatures = (
    db.prepare('SELECT id, sequence, signer_ref, signer_name, signed_at, content_sha256, report_present FROM signatures WHERE case_ref = ? ORDER BY sequence DESC').all(caseId) as {
      id: number;
      sequence: number;
      signer_ref: number;
      signer_name: string;
      signed_at: string;
      content_sha256: string;
      report_present: number;
    }[]
  ).map((s) => ({ id: s.id, sequence: s.sequence, signerId: s.signer_ref, signerName: s.signer_name, signedAt: s.signed_at, contentSha256: s.content_sha256, reportPresent: s.report_present === 1, amendment: bySignature.get(s.id) ?? null }));
  const lock = caseLockState(db, caseId);
  const imageIds = db.prepare('SELECT i.id FROM images i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = ?').pluck().all(caseId) as number[];
  const undecidedFindings = imageIds.reduce((n, id) => n + loadAnnotations(db, id).findings.filter((f) => f.state === 'proposed').length, 0);
  return { caseId, status: c.status, signed: lock.signed, locked: lock.signed && !lock.amendmentOpen, openAmendment: amendments.find((a) => a.signatureId === null) ?? null, undecidedFindings, signatures };
}

/** Sign the case as it stands now. Refused when the signer is not a radiologist or the case is signed and not under amendment. */
export function signCase(db: Database, caseId: number, signer: Signer, now: string = new Date().toISOString()): SignoffState {
  requireRadiologist(signer, 'sign a case');
  db.transaction(() => {
    requireCase(db, caseId);
    const lock = caseLockState(db, caseId);
    if (lock.signed && !lock.amendmentOpen) {
      throw new AppError('CASE_SIGNED', `This case is already signed (by ${lock.lastSignature!.signerName} at ${lock.lastSignature!.signedAt}); open an amendment with a reason to change and sign it again.`);
    }
    const open = db.prepare('SELECT * FROM amendments WHERE case_ref = ? AND signature_ref IS NULL').get(caseId) as AmendmentRow | undefined;
    const amends = open ? (db.prepare('SELECT sequence FROM signatures WHERE id = ?').pluck().get(open.amends_signature_ref) as number) : null;
    const base = snapshotCase(db, caseId);
    const content: SignedContent = {
      ...base,
      amendment: open ? { id: open.id, reason: open.reason, openedBy: open.opened_by_name, openedAt: open.opened_at, amendsSequence: amends! } : null,
    };
    const json = canonicalJson(content);
    const hash = sha256Hex(json);
    const sequence = (lock.lastSignature?.sequence ?? 0) + 1;
    const sigId = Number(
      db
        .prepare('INSERT INTO signatures (case_ref, sequence, signer_ref, signer_name, signed_at, content_json, content_sha256, report_present) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(caseId, sequence, signer.userId, signer.displayName, now, json, hash, content.report === null ? 0 : 1).lastInsertRowid,
    );
    if (open) db.prepare('UPDATE amendments SET signature_ref = ? WHERE id = ?').run(sigId, open.id);
    db.prepare("UPDATE studies SET status = 'signed' WHERE id = ?").run(caseId);
    appendAudit(
      db,
      {
        actor: { userId: signer.userId, username: signer.username },
        action: open ? 'case.sign_amendment' : 'case.sign',
        target: { type: 'case', id: caseId },
        details: {
          signatureId: sigId,
          sequence,
          contentSha256: hash,
          reportPresent: content.report !== null,
          annotationVersions: content.images.map((i) => ({ imageId: i.imageId, version: i.annotations.version })),
          ...(open ? { amendmentId: open.id } : {}),
        },
      },
      now,
    );
  }).immediate();
  return signoffState(db, caseId);
}

/** Open an amendment of a signed case: the case becomes editable again until a radiologist signs it. */
export function openAmendment(db: Database, caseId: number, reason: string, who: Signer, now: string = new Date().toISOString()): SignoffState {
  requireRadiologist(who, 'amend a signed case');
  const why = reason.trim();
  if (why.length < 3) throw new AppError('BAD_REQUEST', 'An amendment needs a reason (at least a few words): it is kept with the signed record.');
  if (why.length > 2000) throw new AppError('BAD_REQUEST', 'The reason for an amendment can have at most 2000 characters.');
  db.transaction(() => {
    requireCase(db, caseId);
    const lock = caseLockState(db, caseId);
    if (!lock.signed) throw new AppError('BAD_REQUEST', 'This case is not signed yet: change it directly, no amendment is needed.');
    if (lock.amendmentOpen) throw new AppError('BAD_REQUEST', 'An amendment of this case is already open; sign it to close it.');
    const id = Number(
      db
        .prepare('INSERT INTO amendments (case_ref, amends_signature_ref, reason, opened_by_ref, opened_by_name, opened_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(caseId, lock.lastSignature!.id, why, who.userId, who.displayName, now).lastInsertRowid,
    );
    db.prepare("UPDATE studies SET status = 'in_review' WHERE id = ?").run(caseId);
    appendAudit(db, { actor: { userId: who.userId, username: who.username }, action: 'case.amend', target: { type: 'case', id: caseId }, details: { amendmentId: id, amendsSignatureId: lock.lastSignature!.id, reason: why } }, now);
  }).immediate();
  return signoffState(db, caseId);
}

export interface SignedRecord {
  signature: SignatureInfo;
  content: SignedContent;
  /** the stored snapshot still hashes to the signed hash */
  intact: boolean;
}

/** A signed version exactly as it was signed. */
export function loadSignature(db: Database, signatureId: number): SignedRecord {
  const row = db.prepare('SELECT case_ref, content_json, content_sha256 FROM signatures WHERE id = ?').get(signatureId) as { case_ref: number; content_json: string; content_sha256: string } | undefined;
  if (!row) throw new AppError('NOT_FOUND', `There is no signature ${signatureId}.`);
  const state = signoffState(db, row.case_ref);
  const signature = state.signatures.find((s) => s.id === signatureId)!;
  return { signature, content: JSON.parse(row.content_json) as SignedContent, intact: sha256Hex(row.content_json) === row.content_sha256 };
}

export type { AuditActor };
