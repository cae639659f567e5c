// Version 20: the model's readings. One analysis per image and model version, kept unchanged once written
// (the AI's original); failures are recorded so that the queue does not retry a bad image forever.
import type { Database } from 'better-sqlite3';

export const version = 20;

export function migrate(db: Database): void {
  db.exec(`
    CREATE TABLE analyses (
      id INTEGER PRIMARY KEY,
      image_ref INTEGER NOT NULL REFERENCES images(id),
      model_name TEXT NOT NULL,
      model_version TEXT NOT NULL,
      model_sha256 TEXT NOT NULL,
      execution_provider TEXT NOT NULL,
      tb_score REAL NOT NULL,
      label TEXT NOT NULL,
      result_json TEXT NOT NULL,
      evidence BLOB,
      created_at TEXT NOT NULL,
      UNIQUE (image_ref, model_name, model_version)
    ) STRICT;

    CREATE TABLE analysis_failures (
      id INTEGER PRIMARY KEY,
      image_ref INTEGER NOT NULL REFERENCES images(id),
      model_name TEXT NOT NULL,
      model_version TEXT NOT NULL,
      code TEXT NOT NULL,
      message TEXT NOT NULL,
      failed_at TEXT NOT NULL,
      UNIQUE (image_ref, model_name, model_version)
    ) STRICT;
  `);
}
