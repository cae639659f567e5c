// Migration 110 (site calibration) on a store written at version 90, after migration 100 rebuilt the studies table
// and before 120: cases, readings and accounts are kept, the new columns read as "not there" (no embedding, the
// pack's own score, not lead), and the hot queries use indexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { CaseStore, latestVersion } from './index';
import { runMigrations } from './migrate';
import { migrations } from './migrations/index';
import { tempDbPath } from '../../testing/index';
import { thresholdInForce } from '../site/threshold';

test('migrations 90 -> 100 -> 110 -> 120 keep cases, readings and users, and add the site tables with their indexes', () => {
  const p = tempDbPath();
  const db = new Database(p);
  runMigrations(db, migrations.filter((m) => m.version <= 90));
  assert.equal(db.pragma('user_version', { simple: true }), 90);
  db.prepare(`INSERT INTO patients (patient_id, patient_name) VALUES ('P1', 'OLD^CASE')`).run();
  db.prepare(`INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text, ai_score, status) VALUES ('1.2', 1, 'then', 'OLD^CASE', 'P1', 'old^case p1', 61.5, 'analyzed')`).run();
  db.prepare(`INSERT INTO series (series_instance_uid, study_ref) VALUES ('1.2.1', 1)`).run();
  db.prepare(`INSERT INTO images (sop_instance_uid, series_ref, rows, columns, bits_stored, photometric, rescale_slope, rescale_intercept, min_pixel, max_pixel, windows_json, pixel_sha256, source_name, source_sha256, source_format, imported_at)
              VALUES ('1.2.1.1', 1, 4, 4, 12, 'MONOCHROME2', 1, 0, 0, 4095, '[]', 'p', 'a.png', 's', 'png', 'then')`).run();
  db.prepare(`INSERT INTO analyses (image_ref, model_name, model_version, model_sha256, execution_provider, tb_score, label, result_json, created_at) VALUES (1, 'cxr-tb-v1', '1.2.0', 'x', 'cpu', 61.5, 'tb', '{"threshold":47.77}', 'then')`).run();
  db.prepare(`INSERT INTO users (username, display_name, role, password_hash, created_at, created_by) VALUES ('rad', 'Dr Rad', 'radiologist', 'h', 'then', 'setup')`).run();
  db.close();

  const store = CaseStore.open(p);
  const s = store.db;
  assert.equal(store.schemaVersion(), latestVersion());
  const row = store.findCasesForWorklist({ sort: { key: 'aiScore', dir: 'desc' }, filter: {}, offset: 0, limit: 5 }).rows[0];
  assert.deepEqual([row.patientName, row.aiScore, row.aiScoreHead], ['OLD^CASE', 61.5, null]);
  assert.deepEqual(s.prepare('SELECT embedding, embedding_dim, base_logit, tb_score FROM analyses').get(), { embedding: null, embedding_dim: null, base_logit: null, tb_score: 61.5 });
  assert.equal(s.prepare('SELECT lead FROM users').pluck().get(), 0);
  assert.equal(s.prepare('SELECT ai_score_model FROM studies').pluck().get(), 'x', 'the model of the case\'s latest reading');
  // the columns of 100 (rebuilt studies), 110 and 120 are all there, each filled from the case's latest reading
  assert.deepEqual(s.prepare('SELECT follows_case_ref, ai_score_head, ai_score_model, ai_model_name, ai_model_version FROM studies').get(), {
    follows_case_ref: null, ai_score_head: null, ai_score_model: 'x', ai_model_name: 'cxr-tb-v1', ai_model_version: '1.2.0',
  });
  const tables = s.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
  for (const t of ['reference_results', 'reference_imports', 'site_heads', 'site_calibrations', 'site_scores']) assert.ok(tables.includes(t), t);
  // an old reading: the pack default it recorded is in force
  assert.equal(thresholdInForce(s, { name: 'cxr-tb-v1', version: '1.2.0', sha256: 'x', defaultThreshold: 47.77 }).label, 'pack default');

  const plan = (sql: string, ...args: unknown[]) => (s.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).join(' | ');
  assert.match(plan('SELECT id, kind, threshold, head_ref FROM site_calibrations WHERE pack_name = ? AND pack_version = ? AND pack_sha256 = ? ORDER BY id DESC LIMIT 1', 'a', 'b', 'c'), /USING (COVERING )?INDEX site_calibrations_pack/);
  assert.match(plan('SELECT * FROM reference_results WHERE case_ref = ? ORDER BY id', 1), /USING INDEX reference_results_case/);
  assert.match(plan('SELECT score FROM site_scores WHERE analysis_ref = ? AND head_ref = ?', 1, 1), /USING (INDEX|PRIMARY KEY)/);
  assert.doesNotMatch(plan('SELECT id FROM studies ORDER BY ai_score IS NOT NULL DESC, ai_score DESC, id DESC LIMIT 10'), /TEMP B-TREE/);
  store.close();
});
