// Version 120: which model a case's AI score comes from.
//
// studies.ai_model_name / ai_model_version: the name and version of the model whose readings gave studies.ai_score
// (the highest score of the case's images for that model), beside the sha256 that version 110 records for it
// (ai_score_model, which the worklist flag compares with the pack in use). Filled here from the latest reading of
// each scored case; NULL where the case has no score.
import type { Database } from 'better-sqlite3';

export const version = 120;

export function migrate(db: Database): void {
  db.exec(`
    ALTER TABLE studies ADD COLUMN ai_model_name TEXT;
    ALTER TABLE studies ADD COLUMN ai_model_version TEXT;
    UPDATE studies SET
      ai_model_name = (SELECT a.model_name FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref
                        WHERE se.study_ref = studies.id ORDER BY a.id DESC LIMIT 1),
      ai_model_version = (SELECT a.model_version FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref
                           WHERE se.study_ref = studies.id ORDER BY a.id DESC LIMIT 1)
    WHERE ai_score IS NOT NULL;
  `);
}
