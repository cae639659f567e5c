// The sign-off lock: a signed case's report and annotations change only through an open amendment. Every service
// that writes a case's report text or annotations calls assertCaseEditable (or assertImageEditable) first, inside
// the same transaction as its write where it has one, so that the check and the write see the same state.
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';

export interface CaseLockState {
  /** the case has at least one signature */
  signed: boolean;
  /** an amendment is open: changes are allowed and will be signed again */
  amendmentOpen: boolean;
  /** the latest signature, if any */
  lastSignature: { id: number; sequence: number; signerName: string; signedAt: string } | null;
}

export function caseLockState(db: Database, caseId: number): CaseLockState {
  const sig = db
    .prepare('SELECT id, sequence, signer_name AS signerName, signed_at AS signedAt FROM signatures WHERE case_ref = ? ORDER BY sequence DESC LIMIT 1')
    .get(caseId) as CaseLockState['lastSignature'] | undefined;
  const open = db.prepare('SELECT 1 FROM amendments WHERE case_ref = ? AND signature_ref IS NULL').get(caseId) !== undefined;
  return { signed: sig !== undefined, amendmentOpen: open, lastSignature: sig ?? null };
}

/** Throws CASE_SIGNED when the case is signed and no amendment is open; a case that does not exist passes (its own lookup reports it). */
export function assertCaseEditable(db: Database, caseId: number): void {
  const s = caseLockState(db, caseId);
  if (s.signed && !s.amendmentOpen) {
    const by = s.lastSignature ? ` by ${s.lastSignature.signerName} at ${s.lastSignature.signedAt}` : '';
    throw new AppError('CASE_SIGNED', `This case was signed${by}; its report and annotations are locked. Nothing was saved. To change them, a radiologist opens an amendment with a reason.`);
  }
}

/** The case an image belongs to, or null when the image does not exist. */
export function caseOfImage(db: Database, imageId: number): number | null {
  const id = db.prepare('SELECT se.study_ref FROM images i JOIN series se ON se.id = i.series_ref WHERE i.id = ?').pluck().get(imageId) as number | undefined;
  return id ?? null;
}

/** assertCaseEditable for the case of an image (annotations are saved per image). */
export function assertImageEditable(db: Database, imageId: number): void {
  const caseId = caseOfImage(db, imageId);
  if (caseId !== null) assertCaseEditable(db, caseId);
}
