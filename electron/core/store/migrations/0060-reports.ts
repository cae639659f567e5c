// Version 60: the report text of a case, as versions. Each save is a new row, never an update, with its author and
// time. A version is either a draft the workstation wrote from the findings (`draft`, kept when the reader asks for
// a re-draft) or text the reader edited (`edited`); both keep the fingerprint of the findings they were written
// against, so that a later change of findings shows as a stale report instead of silently rewriting the reader's
// words. As with annotation versions (migration 50), a trigger refuses a new version of a signed case without an
// open amendment; the reporting service checks first, with a clear message.
import type { Database } from 'better-sqlite3';

export const version = 60;

export function migrate(db: Database): void {
  db.exec(`
    CREATE TABLE report_versions (
      id INTEGER PRIMARY KEY,
      case_ref INTEGER NOT NULL REFERENCES studies(id),
      version INTEGER NOT NULL CHECK (version >= 1),
      source TEXT NOT NULL CHECK (source IN ('draft', 'edited')),
      text TEXT NOT NULL CHECK (length(text) <= 100000),
      findings_fingerprint TEXT NOT NULL,
      author TEXT NOT NULL,
      author_ref INTEGER,
      saved_at TEXT NOT NULL,
      UNIQUE (case_ref, version)
    ) STRICT;

    CREATE TRIGGER report_versions_no_update BEFORE UPDATE ON report_versions
      BEGIN SELECT RAISE(ABORT, 'REPORT_APPEND_ONLY: report versions cannot be changed'); END;
    CREATE TRIGGER report_versions_no_delete BEFORE DELETE ON report_versions
      BEGIN SELECT RAISE(ABORT, 'REPORT_APPEND_ONLY: report versions cannot be deleted'); END;
    CREATE TRIGGER report_versions_signed_lock BEFORE INSERT ON report_versions
      WHEN EXISTS (SELECT 1 FROM signatures g WHERE g.case_ref = NEW.case_ref)
       AND NOT EXISTS (SELECT 1 FROM amendments a WHERE a.case_ref = NEW.case_ref AND a.signature_ref IS NULL)
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: the case is signed; open an amendment to change its report'); END;
  `);
}
