// Version 100: a signed case never gains an image. An image that arrives for a study whose case is signed opens a
// new case of the same study, a follow-up linked to the signed one (studies.follows_case_ref), which is read and
// signed on its own; the signed case, its signature and its exports keep exactly what was signed.
//
// - studies: several cases may now share a Study Instance UID (the first, then its follow-ups), so its UNIQUE
//   constraint becomes a plain index, and follows_case_ref names the signed case a follow-up was opened for.
// - series: a series of a study may have images in the signed case and in a follow-up, so a series row is unique
//   per (Series Instance UID, case) instead of per UID.
//   Both tables are rebuilt (SQLite cannot drop a UNIQUE constraint), keeping every id; the runner turns the foreign
//   keys off around this migration and checks them all before it commits (`rebuildsTables`).
// - triggers refuse a new image or series in a case that has a signature, and moving an image into or out of one,
//   whatever the path: the importer opens the follow-up first, with a clear outcome.
// - stores written before this version may hold signed cases that took images after their last signature: each
//   such image is moved, with its series, into a follow-up case, as the importer would have done, and the audit
//   log says so.
import type { Database } from 'better-sqlite3';
import { appendAudit } from '../../accounts/audit';

export const version = 100;

/** The foreign keys are off while this migration runs; the runner checks them all before it commits. */
export const rebuildsTables = true;

const STUDY_COLUMNS = `id, study_instance_uid, patient_ref, study_date, study_time, accession_number, description, status, ai_score,
  imported_at, patient_name, patient_id, modality, view, image_count, first_image_id, search_text`;

export function migrate(db: Database): void {
  // Triggers of other tables name studies and series (the signed locks of migrations 50 and 60): with the legacy
  // rename, renaming the rebuilt table neither rewrites nor re-checks them, and they bind to it by name.
  db.pragma('legacy_alter_table = ON');
  try {
    rebuild(db);
  } finally {
    db.pragma('legacy_alter_table = OFF');
  }
  splitLateImages(db);

  db.exec(`
    CREATE TRIGGER images_signed_case_lock BEFORE INSERT ON images
      WHEN EXISTS (SELECT 1 FROM signatures g JOIN series se ON se.study_ref = g.case_ref WHERE se.id = NEW.series_ref)
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: a signed case never gains an image; a later image opens a follow-up case'); END;
    CREATE TRIGGER images_signed_case_move BEFORE UPDATE OF series_ref ON images
      WHEN EXISTS (SELECT 1 FROM signatures g JOIN series se ON se.study_ref = g.case_ref WHERE se.id IN (NEW.series_ref, OLD.series_ref))
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: an image cannot be moved into or out of a signed case'); END;
    CREATE TRIGGER series_signed_case_lock BEFORE INSERT ON series
      WHEN EXISTS (SELECT 1 FROM signatures g WHERE g.case_ref = NEW.study_ref)
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: a signed case never gains a series; a later image opens a follow-up case'); END;
    CREATE TRIGGER series_signed_case_move BEFORE UPDATE OF study_ref ON series
      WHEN EXISTS (SELECT 1 FROM signatures g WHERE g.case_ref IN (NEW.study_ref, OLD.study_ref))
      BEGIN SELECT RAISE(ABORT, 'CASE_SIGNED: a series cannot be moved into or out of a signed case'); END;
  `);
}

function rebuild(db: Database): void {
  db.exec(`
    CREATE TABLE studies_v100 (
      id INTEGER PRIMARY KEY,
      study_instance_uid TEXT NOT NULL,
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
      search_text TEXT NOT NULL,
      -- the signed case this case was opened to follow (an image arrived for its study after it was signed)
      follows_case_ref INTEGER REFERENCES studies(id)
    ) STRICT;
    INSERT INTO studies_v100 (${STUDY_COLUMNS}) SELECT ${STUDY_COLUMNS} FROM studies;
    DROP TABLE studies;
    ALTER TABLE studies_v100 RENAME TO studies;
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
    CREATE INDEX studies_uid ON studies (study_instance_uid, id);
    CREATE INDEX studies_follows ON studies (follows_case_ref) WHERE follows_case_ref IS NOT NULL;

    CREATE TABLE series_v100 (
      id INTEGER PRIMARY KEY,
      series_instance_uid TEXT NOT NULL,
      study_ref INTEGER NOT NULL REFERENCES studies(id),
      modality TEXT,
      body_part TEXT,
      view_position TEXT,
      series_number INTEGER,
      description TEXT,
      UNIQUE (series_instance_uid, study_ref)
    ) STRICT;
    INSERT INTO series_v100 SELECT id, series_instance_uid, study_ref, modality, body_part, view_position, series_number, description FROM series;
    DROP TABLE series;
    ALTER TABLE series_v100 RENAME TO series;
    CREATE INDEX series_study ON series (study_ref);
  `);
}

/**
 * Images of a signed case that its latest signature does not cover (they arrived after it was signed) move into a
 * follow-up case of the same study, one per signed case, with copies of their series; the case's image count, first
 * image and AI score follow. Nothing else changes: the images keep their ids, analyses and annotation versions.
 */
function splitLateImages(db: Database): void {
  const signed = db
    .prepare(
      `SELECT g.case_ref AS caseId, g.content_json AS content, g.id AS signatureId FROM signatures g
        WHERE g.sequence = (SELECT max(sequence) FROM signatures h WHERE h.case_ref = g.case_ref) ORDER BY g.case_ref`,
    )
    .all() as { caseId: number; content: string; signatureId: number }[];
  for (const s of signed) {
    let covered: Set<number>;
    try {
      covered = new Set(((JSON.parse(s.content) as { images?: { imageId: number }[] }).images ?? []).map((i) => i.imageId));
    } catch {
      continue; // an unreadable snapshot is for `cxr store check` to report; its images stay where they are
    }
    const late = (db
      .prepare('SELECT i.id, i.series_ref AS seriesRef, i.imported_at AS importedAt FROM images i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = ? ORDER BY i.id')
      .all(s.caseId) as { id: number; seriesRef: number; importedAt: string }[]).filter((i) => !covered.has(i.id));
    if (late.length === 0) continue;
    const c = db.prepare(`SELECT ${STUDY_COLUMNS} FROM studies WHERE id = ?`).get(s.caseId) as Record<string, unknown>;
    const followUp = Number(
      db
        .prepare(
          `INSERT INTO studies (study_instance_uid, patient_ref, study_date, study_time, accession_number, description, status, imported_at,
             patient_name, patient_id, modality, view, search_text, follows_case_ref)
           VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(c.study_instance_uid, c.patient_ref, c.study_date, c.study_time, c.accession_number, c.description, late[0].importedAt, c.patient_name, c.patient_id, c.modality, c.view, c.search_text, s.caseId)
        .lastInsertRowid,
    );
    const seriesCopy = new Map<number, number>();
    for (const img of late) {
      let to = seriesCopy.get(img.seriesRef);
      if (to === undefined) {
        to = Number(
          db
            .prepare(
              `INSERT INTO series (series_instance_uid, study_ref, modality, body_part, view_position, series_number, description)
               SELECT series_instance_uid, ?, modality, body_part, view_position, series_number, description FROM series WHERE id = ?`,
            )
            .run(followUp, img.seriesRef).lastInsertRowid,
        );
        seriesCopy.set(img.seriesRef, to);
      }
      db.prepare('UPDATE images SET series_ref = ? WHERE id = ?').run(to, img.id);
      db.prepare('UPDATE received_instances SET case_ref = ? WHERE image_ref = ?').run(followUp, img.id);
    }
    for (const caseId of [s.caseId, followUp]) {
      db.prepare(
        `UPDATE studies SET
           image_count = (SELECT count(*) FROM images i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = studies.id),
           first_image_id = (SELECT min(i.id) FROM images i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = studies.id),
           ai_score = (SELECT max(a.tb_score) FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref WHERE se.study_ref = studies.id)
         WHERE id = ?`,
      ).run(caseId);
    }
    db.prepare("UPDATE studies SET status = 'analyzed' WHERE id = ? AND ai_score IS NOT NULL").run(followUp);
    // series left without images in the signed case stay: they were signed as part of it
    appendAudit(db, {
      actor: { userId: null, username: 'system' },
      action: 'case.follow_up',
      target: { type: 'case', id: followUp },
      details: { followsCaseId: s.caseId, signatureId: s.signatureId, imageIds: late.map((i) => i.id), why: 'images that arrived after the case was signed (moved by the schema upgrade)' },
    });
  }
}
