// Version 50: local user accounts, the station's settings for them, sign-off (signatures and amendments) and the
// append-only audit log.
//
// - users: one row per account; the password is kept only as an scrypt hash with its own salt and parameters.
// - signatures: each signing of a case, with a snapshot of exactly what was signed (JSON) and its SHA-256. A
//   case's first signature has no amendment; each later one closes the amendment it signs.
// - amendments: a change opened on a signed case, with its reason; open until a radiologist signs again.
// - audit_log: who did what, when, chained by SHA-256 (each entry names the previous entry's hash). Triggers refuse
//   UPDATE and DELETE on it, and on signatures, so that a signed record cannot be rewritten through the app's own
//   connection; the hash chain makes rewriting by other means detectable (`cxr audit verify`).
// - a trigger on annotation_versions refuses a new version of an image whose case is signed without an open
//   amendment: the core services check this first with a clear message, the trigger guards any other path.
import type { Database } from 'better-sqlite3';

export const version = 50;

export function migrate(db: Database): void {
  db.exec(`
    CREATE TABLE users (
      id INTEGER PRIMARY KEY,
      username TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(username) BETWEEN 1 AND 64),
      display_name TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('radiologist', 'technician', 'administrator')),
      -- scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>
      password_hash TEXT NOT NULL,
      created_at TEXT NOT NULL,
      created_by TEXT NOT NULL,
      disabled_at TEXT,
      failed_logins INTEGER NOT NULL DEFAULT 0,
      locked_until TEXT,
      last_login_at TEXT
    ) STRICT;

    CREATE TABLE account_settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE signatures (
      id INTEGER PRIMARY KEY,
      case_ref INTEGER NOT NULL REFERENCES studies(id),
      -- 1 for the first signature of the case, 2 for the signature of its first amendment, ...
      sequence INTEGER NOT NULL CHECK (sequence >= 1),
      signer_ref INTEGER NOT NULL REFERENCES users(id),
      signer_name TEXT NOT NULL,
      signed_at TEXT NOT NULL,
      content_json TEXT NOT NULL,
      content_sha256 TEXT NOT NULL,
      report_present INTEGER NOT NULL CHECK (report_present IN (0, 1)),
      UNIQUE (case_ref, sequence)
    ) STRICT;

    CREATE TABLE amendments (
      id INTEGER PRIMARY KEY,
      case_ref INTEGER NOT NULL REFERENCES studies(id),
      -- the signature this amendment changes (the case's latest when it was opened)
      amends_signature_ref INTEGER NOT NULL REFERENCES signatures(id),
      reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
      opened_by_ref INTEGER NOT NULL REFERENCES users(id),
      opened_by_name TEXT NOT NULL,
      opened_at TEXT NOT NULL,
      -- the signature that closed it; NULL while the amendment is open
      signature_ref INTEGER UNIQUE REFERENCES signatures(id)
    ) STRICT;
    CREATE INDEX amendments_case ON amendments (case_ref, id);
    -- at most one open amendment per case
    CREATE UNIQUE INDEX amendments_one_open ON amendments (case_ref) WHERE signature_ref IS NULL;

    CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY,
      at TEXT NOT NULL,
      actor_ref INTEGER,
      actor_name TEXT NOT NULL,
      action TEXT NOT NULL,
      target_type TEXT,
      target_id TEXT,
      details_json TEXT NOT NULL,
      prev_sha256 TEXT NOT NULL,
      sha256 TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE INDEX audit_target ON audit_log (target_type, target_id, id);

    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'AUDIT_APPEND_ONLY: audit log entries cannot be changed'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'AUDIT_APPEND_ONLY: audit log entries cannot be deleted'); END;
    CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: a signature cannot be changed'); END;
    CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: a signature cannot be deleted'); END;

    CREATE TRIGGER annotation_versions_signed_lock BEFORE INSERT ON annotation_versions
      WHEN EXISTS (SELECT 1 FROM signatures g JOIN series se ON se.study_ref = g.case_ref WHERE se.id = (SELECT series_ref FROM images WHERE id = NEW.image_ref))
       AND NOT EXISTS (SELECT 1 FROM amendments a JOIN series se ON se.study_ref = a.case_ref
                        WHERE se.id = (SELECT series_ref FROM images WHERE id = NEW.image_ref) AND a.signature_ref IS NULL)
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: the case is signed; open an amendment to change its annotations'); END;
  `);
}
