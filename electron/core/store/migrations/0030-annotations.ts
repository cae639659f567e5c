// Version 30: the reader's annotations of an image, as versions. Each save is a new row, never an update, with its
// author and time; the AI's proposal stays in `analyses` (the first version names the analysis it started from).
// Masks are bit-packed and deflated into `annotation_masks`, shared by the versions that did not change them, so a
// save that moves a box writes no mask bytes and a brush stroke writes one mask.
import type { Database } from 'better-sqlite3';

export const version = 30;

export function migrate(db: Database): void {
  db.exec(`
    CREATE TABLE annotation_versions (
      id INTEGER PRIMARY KEY,
      image_ref INTEGER NOT NULL REFERENCES images(id),
      version INTEGER NOT NULL CHECK (version >= 1),
      analysis_ref INTEGER REFERENCES analyses(id),
      author TEXT NOT NULL,
      saved_at TEXT NOT NULL,
      findings_json TEXT NOT NULL,
      UNIQUE (image_ref, version)
    ) STRICT;

    CREATE TABLE annotation_masks (
      id INTEGER PRIMARY KEY,
      image_ref INTEGER NOT NULL REFERENCES images(id),
      width INTEGER NOT NULL CHECK (width > 0),
      height INTEGER NOT NULL CHECK (height > 0),
      -- SHA-256 of the packed bits: identical masks of one image are stored once
      sha256 TEXT NOT NULL,
      encoding TEXT NOT NULL CHECK (encoding IN ('bits-msb-deflate')),
      data BLOB NOT NULL,
      UNIQUE (image_ref, sha256)
    ) STRICT;

    CREATE TABLE annotation_version_masks (
      version_ref INTEGER NOT NULL REFERENCES annotation_versions(id),
      mask_key TEXT NOT NULL,
      label TEXT NOT NULL CHECK (label IN ('right_lung', 'left_lung', 'lesion')),
      source TEXT NOT NULL CHECK (source IN ('ai', 'user')),
      mask_ref INTEGER NOT NULL REFERENCES annotation_masks(id),
      PRIMARY KEY (version_ref, mask_key)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX annotation_version_masks_mask ON annotation_version_masks (mask_ref);
  `);
}
