// Scores in force: a site head's score of a stored reading (logistic regression over the reading's embedding and
// its base TB logit, on the same 0–100 scale as the pack's TB score), and, for any reading, the score and threshold
// that the station shows and reports for it now.
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';
import { predictLogit, probability, type LogisticModel } from './logistic';
import { thresholdInForce, type PackKey, type ThresholdInForce } from './threshold';
import { isFlagged } from '../triage/index';

export interface SiteHead {
  id: number;
  pack: PackKey;
  embeddingDim: number;
  model: LogisticModel;
  fittedAt: string;
}

const heads = new WeakMap<Database, Map<number, SiteHead>>();

/** A fitted site head (immutable rows, so read once per database). */
export function loadHead(db: Database, id: number): SiteHead {
  let byId = heads.get(db);
  if (!byId) heads.set(db, (byId = new Map()));
  const hit = byId.get(id);
  if (hit) return hit;
  const r = db.prepare('SELECT id, pack_name, pack_version, pack_sha256, embedding_dim, model_json, fitted_at FROM site_heads WHERE id = ?').get(id) as
    | { id: number; pack_name: string; pack_version: string; pack_sha256: string; embedding_dim: number; model_json: string; fitted_at: string }
    | undefined;
  if (!r) throw new AppError('NOT_FOUND', `There is no site head ${id}.`);
  const head: SiteHead = { id: r.id, pack: { name: r.pack_name, version: r.pack_version, sha256: r.pack_sha256 }, embeddingDim: r.embedding_dim, model: JSON.parse(r.model_json) as LogisticModel, fittedAt: r.fitted_at };
  byId.set(id, head);
  return head;
}

/** A stored embedding (float32 little endian) as numbers, or null when absent or of another length. */
export function embeddingFromBlob(blob: Uint8Array | null | undefined, dim: number | null | undefined): Float32Array | null {
  if (!blob || !dim || blob.byteLength !== dim * 4) return null;
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Float32Array(copy.buffer);
}

/** What a site head reads: the embedding, then the base TB logit. */
export function headFeatures(embedding: ArrayLike<number>, baseLogit: number): number[] {
  const out = Array.from(embedding as ArrayLike<number>);
  out.push(baseLogit);
  return out;
}

/** A logit as a score on the 0–100 scale of the TB score. */
export function logitToScore(logit: number): number {
  return Math.round(100 * probability(logit) * 1e4) / 1e4;
}

/** A site head's score (0–100) of one reading. */
export function headScore(head: SiteHead, embedding: ArrayLike<number>, baseLogit: number): number {
  if (embedding.length !== head.embeddingDim) {
    throw new AppError('SITE_OTHER_MODEL', `Site head ${head.id} reads embeddings of ${head.embeddingDim} values; this reading has ${embedding.length} (another model).`);
  }
  return logitToScore(predictLogit(head.model, headFeatures(embedding, baseLogit)));
}

interface AnalysisRow {
  id: number;
  model_name: string;
  model_version: string;
  model_sha256: string;
  tb_score: number;
  result_json: string;
  embedding: Buffer | null;
  embedding_dim: number | null;
  base_logit: number | null;
}

function analysisRow(db: Database, analysisId: number): AnalysisRow | null {
  return (
    (db
      .prepare('SELECT id, model_name, model_version, model_sha256, tb_score, result_json, embedding, embedding_dim, base_logit FROM analyses WHERE id = ?')
      .get(analysisId) as AnalysisRow | undefined) ?? null
  );
}

/** The site head's score of a stored reading: from site_scores when stored, else computed (and stored when `store`). */
export function siteScoreOf(db: Database, head: SiteHead, analysisId: number, opts: { store?: boolean; now?: string } = {}): number | null {
  const stored = db.prepare('SELECT score FROM site_scores WHERE analysis_ref = ? AND head_ref = ?').pluck().get(analysisId, head.id) as number | undefined;
  if (stored !== undefined) return stored;
  const a = analysisRow(db, analysisId);
  if (!a) return null;
  const emb = embeddingFromBlob(a.embedding, a.embedding_dim);
  if (!emb || emb.length !== head.embeddingDim || a.base_logit === null) return null;
  const score = headScore(head, emb, a.base_logit);
  if (opts.store) {
    db.prepare('INSERT OR IGNORE INTO site_scores (analysis_ref, head_ref, score, created_at) VALUES (?, ?, ?, ?)').run(analysisId, head.id, score, opts.now ?? new Date().toISOString());
  }
  return score;
}

export interface ReadingInForce {
  /** the score the station uses now: the site head's when one is in force, else the pack's own TB score */
  score: number;
  /** the pack's own TB score (the AI's original reading) */
  baseScore: number;
  /** the site head that produced `score`; null: the pack's own */
  headId: number | null;
  threshold: ThresholdInForce;
  flagged: boolean;
  /** why a site head in force could not score this reading (it falls back to the pack's score and default) */
  note: string | null;
}

/** The pack's default threshold as a reading recorded it (the manifest's, at the time of the reading). */
function storedDefault(resultJson: string): number | null {
  try {
    const t = (JSON.parse(resultJson) as { threshold?: unknown }).threshold;
    return typeof t === 'number' && Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

/** The score and threshold in force for one stored reading, or null when there is no such reading. */
export function readingInForce(db: Database, analysisId: number): ReadingInForce | null {
  const a = analysisRow(db, analysisId);
  if (!a) return null;
  const def = storedDefault(a.result_json);
  if (def === null) return null;
  const t = thresholdInForce(db, { name: a.model_name, version: a.model_version, sha256: a.model_sha256, defaultThreshold: def });
  if (t.headId === null) return { score: a.tb_score, baseScore: a.tb_score, headId: null, threshold: t, flagged: isFlagged(a.tb_score, t.value), note: null };
  const score = siteScoreOf(db, loadHead(db, t.headId), a.id);
  if (score === null) {
    const fallback: ThresholdInForce = { ...t, value: def, source: 'pack', version: null, headId: null, label: 'pack default' };
    return { score: a.tb_score, baseScore: a.tb_score, headId: null, threshold: fallback, flagged: isFlagged(a.tb_score, def), note: `site head ${t.headId} is in force, but this reading has no embedding for it (read before the pack had one): the pack's own score and default threshold apply` };
  }
  return { score, baseScore: a.tb_score, headId: t.headId, threshold: t, flagged: isFlagged(score, t.value), note: null };
}
