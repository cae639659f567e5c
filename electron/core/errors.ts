// One error type for the core services: a stable code a program can branch on and a message a person can act on.

export type ErrorCode =
  // input files
  | 'EMPTY_FILE'
  | 'FILE_TOO_LARGE'
  | 'FILE_UNREADABLE'
  | 'NOT_AN_IMAGE'
  | 'PNG_CORRUPT'
  | 'JPEG_CORRUPT'
  | 'DICOM_CORRUPT'
  | 'DICOM_TRUNCATED'
  | 'DICOM_NO_PIXEL_DATA'
  | 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX'
  | 'DICOM_UNSUPPORTED_IMAGE'
  | 'DICOM_DECODE_FAILED'
  /** decoding passed the per-file time or memory limit and was stopped */
  | 'DECODE_LIMIT'
  | 'OUT_OF_SCOPE'
  // store
  | 'DB_NEWER_THAN_APP'
  | 'DB_OPEN_FAILED'
  | 'DB_KEY_UNAVAILABLE'
  | 'BACKUP_INVALID'
  | 'DISK_FULL'
  | 'NOT_FOUND'
  | 'PIXELS_MISSING'
  // installation and first run
  | 'CONFIG_UNREADABLE'
  // annotations
  | 'ANNOTATION_VERSION_STALE'
  // reports
  | 'REPORT_VERSION_STALE'
  // model packs and inference
  | 'MODEL_MISSING'
  | 'MODEL_CORRUPT'
  | 'MODEL_MISMATCH'
  | 'INFERENCE_FAILED'
  // exports
  | 'EXPORT_NOTHING'
  | 'EXPORT_FAILED'
  | 'EXPORT_WRITE_FAILED'
  // accounts, sign-off and the audit log
  | 'AUTH_REQUIRED'
  | 'FORBIDDEN'
  | 'SETUP_REQUIRED'
  | 'LOGIN_FAILED'
  | 'LOGIN_LOCKED'
  | 'SESSION_LOCKED'
  | 'CASE_SIGNED'
  | 'AUDIT_BROKEN'
  // DICOM network (receiver, archives, outgoing queue)
  | 'NETWORK_SETTINGS_INVALID'
  | 'NETWORK_PORT_IN_USE'
  | 'NETWORK_UNREACHABLE'
  | 'NETWORK_REFUSED'
  | 'NETWORK_PROTOCOL'
  | 'NETWORK_TIMEOUT'
  // site calibration and adaptation (reference results, site threshold, site head)
  | 'RESULTS_IMPORT_INVALID'
  | 'SITE_TOO_FEW_CASES'
  | 'SITE_HEAD_NOT_ELIGIBLE'
  | 'SITE_OTHER_MODEL'
  // transport and contract
  | 'BAD_REQUEST'
  | 'UNKNOWN_CALL'
  | 'UNAUTHORIZED'
  | 'CANCELLED'
  | 'INTERNAL';

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'AppError';
  }
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Turn anything thrown into the contract's error shape, keeping the code of our own errors. */
export function toErrorInfo(e: unknown): { code: string; message: string } {
  if (isAppError(e)) return { code: e.code, message: e.message };
  const err = e as { code?: string; message?: string };
  if (err && (err.code === 'ENOSPC' || err.code === 'SQLITE_FULL')) {
    return { code: 'DISK_FULL', message: 'The disk is full: nothing was saved from this operation. Free some space and try again.' };
  }
  // The sign-off triggers (migration 0050) abort with 'CASE_SIGNED: ...' when a write got past the services' checks.
  if (err && typeof err.message === 'string' && err.message.startsWith('CASE_SIGNED: ')) {
    return { code: 'CASE_SIGNED', message: `This case is signed and cannot be changed: ${err.message.slice(13)}.` };
  }
  return { code: 'INTERNAL', message: err?.message ? String(err.message) : String(e) };
}
