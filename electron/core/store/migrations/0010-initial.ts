// Version 10: patients, studies (the worklist's cases), series and images, keyed by DICOM UIDs.
import type { Database } from 'better-sqlite3';

export const version = 10;

export function migrate(db: Database): void {
  db.exec(`
    CREATE TABLE patients (
      id INTEGER PRIMARY KEY,
      patient_id TEXT NOT NULL,
      patient_name TEXT NOT NULL,
      birth_date TEXT,
      sex TEXT,
      UNIQUE (patient_id, patient_name)
    ) STRICT;

    -- A study is a case on the worklist. The worklist columns are kept on the row itself so that sorting and
    -- filtering 50,000 cases needs no join.
    CREATE TABLE studies (
      id INTEGER PRIMARY KEY,
      study_instance_uid TEXT NOT NULL UNIQUE,
      patient_ref INTEGER NOT NULL REFERENCES patients(id),
      study_date TEXT,
      study_time TEXT,
      accession_number TEXT,
      description TEXT,
      status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'analyzed', 'in_review', 'signed')),
      ai_score REAL,
      imported_at TEXT NOT NULL,
      patient_name TEXT NOT NULL,
      patient_id TEXT NOT NULL,
      modality TEXT,
      view TEXT,
      image_count INTEGER NOT NULL DEFAULT 0,
      first_image_id INTEGER,
      search_text TEXT NOT NULL
    ) STRICT;
    -- Worklist sort orders. Nullable columns sort NULLs last in both directions, which needs one index per
    -- direction: (col IS NULL, col, id) read forwards, (col IS NOT NULL, col, id) read backwards.
    CREATE INDEX studies_imported ON studies (imported_at, id);
    CREATE INDEX studies_name ON studies (patient_name, id);
    CREATE INDEX studies_pid ON studies (patient_id, id);
    CREATE INDEX studies_status ON studies (status, id);
    CREATE INDEX studies_date_asc ON studies (study_date IS NULL, study_date, id);
    CREATE INDEX studies_date_desc ON studies (study_date IS NOT NULL, study_date, id);
    CREATE INDEX studies_score_asc ON studies (ai_score IS NULL, ai_score, id);
    CREATE INDEX studies_score_desc ON studies (ai_score IS NOT NULL, ai_score, id);
    CREATE INDEX studies_modality_asc ON studies (modality IS NULL, modality, id);
    CREATE INDEX studies_modality_desc ON studies (modality IS NOT NULL, modality, id);
    CREATE INDEX studies_patient ON studies (patient_ref);

    CREATE TABLE series (
      id INTEGER PRIMARY KEY,
      series_instance_uid TEXT NOT NULL UNIQUE,
      study_ref INTEGER NOT NULL REFERENCES studies(id),
      modality TEXT,
      body_part TEXT,
      view_position TEXT,
      series_number INTEGER,
      description TEXT
    ) STRICT;
    CREATE INDEX series_study ON series (study_ref);

    CREATE TABLE images (
      id INTEGER PRIMARY KEY,
      sop_instance_uid TEXT NOT NULL UNIQUE,
      sop_class_uid TEXT,
      series_ref INTEGER NOT NULL REFERENCES series(id),
      rows INTEGER NOT NULL,
      columns INTEGER NOT NULL,
      bits_stored INTEGER NOT NULL,
      photometric TEXT NOT NULL CHECK (photometric IN ('MONOCHROME1', 'MONOCHROME2')),
      rescale_slope REAL NOT NULL,
      rescale_intercept REAL NOT NULL,
      spacing_row REAL,
      spacing_col REAL,
      min_pixel INTEGER NOT NULL,
      max_pixel INTEGER NOT NULL,
      windows_json TEXT NOT NULL,
      pixel_sha256 TEXT NOT NULL UNIQUE,
      source_name TEXT NOT NULL,
      source_sha256 TEXT NOT NULL,
      source_format TEXT NOT NULL,
      transfer_syntax TEXT,
      imported_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX images_series ON images (series_ref);
  `);
}
