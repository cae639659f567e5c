// Version 110: site calibration and adaptation.
//
// - analyses gain the model's embedding (float32 little endian, embedding_dim values: the lung-pooled features a
//   site head reads) and the base TB logit ln(p/(1-p)), written with the reading and never changed. Readings made
//   before, or by a pack without an embedding, keep NULL.
// - reference_results: per case, the outcome of the person's TB work-up (Xpert, culture, smear, clinical diagnosis)
//   with its date, who entered it, how (viewer or a CSV import) and a note. Never changed; a result entered by
//   mistake is withdrawn (who, when, why), not deleted. reference_imports records each CSV import.
// - site_heads: each fitted site head (logistic regression over the embedding and the base logit), keyed to the
//   pack it was fitted for (name, version, model sha256), with its cross-validated figures. Immutable.
// - site_calibrations: the station's operating point as versions (the id is the version number): a threshold on
//   the base TB score or on a site head's score, or a return to the pack's default. The latest version for a pack
//   is the one in force for it. Immutable, so the history is the table.
// - site_scores: a site head's score of an analysis.
// - studies.ai_score_head: which site head produced the case's score on the worklist (NULL: the pack's own score);
//   studies.ai_score_model: the sha256 of the model whose reading gave it (so that a case not yet read again by a
//   new pack is not flagged against the new pack's threshold), filled here from each case's latest reading.
// - users.lead: a radiologist account marked as lead radiologist (calibrates the site, with administrators).
import type { Database } from 'better-sqlite3';

export const version = 110;

export function migrate(db: Database): void {
  db.exec(`
    ALTER TABLE analyses ADD COLUMN embedding BLOB;
    ALTER TABLE analyses ADD COLUMN embedding_dim INTEGER CHECK (embedding_dim IS NULL OR embedding_dim > 0);
    ALTER TABLE analyses ADD COLUMN base_logit REAL;
    ALTER TABLE users ADD COLUMN lead INTEGER NOT NULL DEFAULT 0 CHECK (lead IN (0, 1));

    CREATE TABLE reference_imports (
      id INTEGER PRIMARY KEY,
      file_name TEXT NOT NULL,
      file_sha256 TEXT NOT NULL,
      rows_total INTEGER NOT NULL,
      rows_written INTEGER NOT NULL,
      imported_by TEXT NOT NULL,
      imported_by_ref INTEGER,
      imported_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE reference_results (
      id INTEGER PRIMARY KEY,
      case_ref INTEGER NOT NULL REFERENCES studies(id),
      test TEXT NOT NULL CHECK (test IN ('xpert', 'culture', 'smear', 'clinical')),
      result TEXT NOT NULL CHECK (
        (test = 'xpert' AND result IN ('detected', 'trace', 'not_detected', 'invalid')) OR
        (test = 'culture' AND result IN ('positive', 'negative', 'contaminated')) OR
        (test = 'smear' AND result IN ('positive', 'scanty', 'negative')) OR
        (test = 'clinical' AND result IN ('tb', 'not_tb'))),
      result_date TEXT NOT NULL CHECK (result_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
      note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
      source TEXT NOT NULL CHECK (source IN ('viewer', 'csv', 'cli')),
      import_ref INTEGER REFERENCES reference_imports(id),
      entered_by TEXT NOT NULL,
      entered_by_ref INTEGER,
      entered_at TEXT NOT NULL,
      withdrawn_at TEXT,
      withdrawn_by TEXT,
      withdraw_reason TEXT
    ) STRICT;
    CREATE INDEX reference_results_case ON reference_results (case_ref, id);

    CREATE TRIGGER reference_results_keep BEFORE UPDATE ON reference_results
      WHEN OLD.withdrawn_at IS NOT NULL OR NEW.case_ref IS NOT OLD.case_ref OR NEW.test IS NOT OLD.test OR NEW.result IS NOT OLD.result
        OR NEW.result_date IS NOT OLD.result_date OR NEW.note IS NOT OLD.note OR NEW.entered_by IS NOT OLD.entered_by OR NEW.entered_at IS NOT OLD.entered_at
      BEGIN SELECT RAISE(ABORT, 'RESULTS_APPEND_ONLY: a reference result is never changed; withdraw it and enter a new one'); END;
    CREATE TRIGGER reference_results_no_delete BEFORE DELETE ON reference_results
      BEGIN SELECT RAISE(ABORT, 'RESULTS_APPEND_ONLY: a reference result is withdrawn, never deleted'); END;

    CREATE TABLE site_heads (
      id INTEGER PRIMARY KEY,
      pack_name TEXT NOT NULL,
      pack_version TEXT NOT NULL,
      pack_sha256 TEXT NOT NULL,
      embedding_dim INTEGER NOT NULL,
      n_positive INTEGER NOT NULL,
      n_negative INTEGER NOT NULL,
      data_fingerprint TEXT NOT NULL,
      lambda REAL NOT NULL,
      folds INTEGER NOT NULL,
      seed INTEGER NOT NULL,
      -- feature means and scales, weights, intercept
      model_json TEXT NOT NULL,
      -- cross-validated AUCs (base and site head) with intervals, the gain's interval, out-of-fold scores per case
      cv_json TEXT NOT NULL,
      eligible INTEGER NOT NULL CHECK (eligible IN (0, 1)),
      verdict TEXT NOT NULL,
      fitted_by TEXT NOT NULL,
      fitted_by_ref INTEGER,
      fitted_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE site_calibrations (
      id INTEGER PRIMARY KEY,
      pack_name TEXT NOT NULL,
      pack_version TEXT NOT NULL,
      pack_sha256 TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('threshold', 'pack_default')),
      -- the threshold on the 0-100 score; NULL for a return to the pack's default
      threshold REAL CHECK ((kind = 'threshold') = (threshold IS NOT NULL)),
      -- the site head whose score the threshold applies to; NULL: the pack's own TB score
      head_ref INTEGER REFERENCES site_heads(id),
      rule TEXT NOT NULL,
      n_positive INTEGER NOT NULL,
      n_negative INTEGER NOT NULL,
      data_fingerprint TEXT NOT NULL,
      auc REAL,
      auc_low REAL,
      auc_high REAL,
      sensitivity REAL,
      specificity REAL,
      note TEXT NOT NULL DEFAULT '',
      created_by TEXT NOT NULL,
      created_by_ref INTEGER,
      created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX site_calibrations_pack ON site_calibrations (pack_name, pack_version, pack_sha256, id);

    CREATE TABLE site_scores (
      analysis_ref INTEGER NOT NULL REFERENCES analyses(id),
      head_ref INTEGER NOT NULL REFERENCES site_heads(id),
      score REAL NOT NULL CHECK (score >= 0 AND score <= 100),
      created_at TEXT NOT NULL,
      PRIMARY KEY (analysis_ref, head_ref)
    ) STRICT;
    CREATE INDEX site_scores_head ON site_scores (head_ref, analysis_ref);

    ALTER TABLE studies ADD COLUMN ai_score_head INTEGER REFERENCES site_heads(id);
    ALTER TABLE studies ADD COLUMN ai_score_model TEXT;
    UPDATE studies SET ai_score_model = (
      SELECT a.model_sha256 FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref
       WHERE se.study_ref = studies.id ORDER BY a.id DESC LIMIT 1)
     WHERE ai_score IS NOT NULL;

    CREATE TRIGGER site_heads_no_update BEFORE UPDATE ON site_heads
      BEGIN SELECT RAISE(ABORT, 'SITE_APPEND_ONLY: a fitted site head is never changed'); END;
    CREATE TRIGGER site_heads_no_delete BEFORE DELETE ON site_heads
      BEGIN SELECT RAISE(ABORT, 'SITE_APPEND_ONLY: a fitted site head is never deleted'); END;
    CREATE TRIGGER site_calibrations_no_update BEFORE UPDATE ON site_calibrations
      BEGIN SELECT RAISE(ABORT, 'SITE_APPEND_ONLY: a site calibration version is never changed'); END;
    CREATE TRIGGER site_calibrations_no_delete BEFORE DELETE ON site_calibrations
      BEGIN SELECT RAISE(ABORT, 'SITE_APPEND_ONLY: a site calibration version is never deleted'); END;
  `);
}
