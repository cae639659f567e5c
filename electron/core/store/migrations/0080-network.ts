// Version 80: the station in the clinic's DICOM network (issue 7).
//
// - network_settings: the receiver (on/off, AE title, port, calling-AE whitelist) and the sending defaults, as one
//   JSON value per key (defaults live in code; a row exists only once someone changed a setting).
// - remotes: the archives this station queries, retrieves from and sends results to, by DIMSE or DICOMweb.
// - received_instances: every instance that reached the station from the network (pushed to the receiver or
//   retrieved from an archive), with who sent it, from where, when, and what became of it.
// - send_queue: the outgoing sends. One row per (archive, SOP Instance UID), so the same result is never queued
//   twice; the payload travels with the row (the database is encrypted at rest), so a restart loses nothing.
import type { Database } from 'better-sqlite3';

export const version = 80;

export function migrate(db: Database): void {
  db.exec(`
    CREATE TABLE network_settings (
      key TEXT PRIMARY KEY,
      value_json TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE remotes (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE COLLATE NOCASE,
      kind TEXT NOT NULL CHECK (kind IN ('dimse', 'dicomweb')),
      host TEXT,
      port INTEGER,
      ae_title TEXT,
      retrieve TEXT NOT NULL DEFAULT 'C-GET' CHECK (retrieve IN ('C-GET', 'C-MOVE')),
      url TEXT,
      username TEXT,
      password TEXT,
      send_results INTEGER NOT NULL DEFAULT 0 CHECK (send_results IN (0, 1)),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      removed_at TEXT
    ) STRICT;

    CREATE TABLE received_instances (
      id INTEGER PRIMARY KEY,
      via TEXT NOT NULL CHECK (via IN ('receiver', 'retrieve')),
      sop_instance_uid TEXT,
      sop_class_uid TEXT,
      calling_ae TEXT,
      peer_address TEXT,
      remote_ref INTEGER REFERENCES remotes(id),
      outcome TEXT NOT NULL CHECK (outcome IN ('imported', 'duplicate', 'refused')),
      case_ref INTEGER REFERENCES studies(id),
      image_ref INTEGER REFERENCES images(id),
      message TEXT,
      received_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX received_recent ON received_instances (received_at DESC, id DESC);
    CREATE INDEX received_image ON received_instances (image_ref);

    CREATE TABLE send_queue (
      id INTEGER PRIMARY KEY,
      remote_ref INTEGER NOT NULL REFERENCES remotes(id),
      case_ref INTEGER REFERENCES studies(id),
      kind TEXT NOT NULL CHECK (kind IN ('sr', 'seg', 'pdf', 'image', 'other')),
      sop_instance_uid TEXT NOT NULL,
      sop_class_uid TEXT NOT NULL,
      study_instance_uid TEXT NOT NULL,
      series_instance_uid TEXT NOT NULL,
      payload BLOB NOT NULL,
      payload_sha256 TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at TEXT,
      last_error TEXT,
      -- 1 when the last attempt may have reached the archive (the connection broke after the data left):
      -- the next attempt first asks the archive whether it holds the instance.
      uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
      verified_by TEXT CHECK (verified_by IN ('response', 'query')),
      enqueued_by TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      sent_at TEXT,
      UNIQUE (remote_ref, sop_instance_uid)
    ) STRICT;
    CREATE INDEX send_queue_due ON send_queue (state, next_attempt_at);
    CREATE INDEX send_queue_case ON send_queue (case_ref);
  `);
}
