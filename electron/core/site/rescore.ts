// Re-scoring the worklist when the score in force changes (a site head activated, or a return to the pack's own
// score): a background job that walks the cases in small batches, letting other work run between them, and
// reports its progress. Each case's score becomes the highest of its images' scores in force, and the case says
// which site head produced it (none: the pack's own). A newly read image is scored at once (rescoreCase).
import type { Database } from 'better-sqlite3';
import { loadHead, siteScoreOf } from './scoring';
import { thresholdInForce, type SitePack } from './threshold';

export interface RescoreProgress {
  state: 'idle' | 'running';
  /** cases re-scored in the current (or last) run */
  done: number;
  total: number;
  /** the site head the cases are being scored by; null: the pack's own score */
  headId: number | null;
  /** why the last run stopped short (the next request tries again), or null */
  error: string | null;
}

/**
 * Set one case's score in force for a pack: under site head `headId` when every read image of the case has the
 * pack's embedding, else the pack's own score. Returns whether the row changed.
 */
export function rescoreCase(db: Database, caseId: number, pack: SitePack, headId: number | null, now: string = new Date().toISOString()): boolean {
  const analyses = db
    .prepare(
      `SELECT a.id, a.tb_score FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref
        WHERE se.study_ref = ? AND a.model_name = ? AND a.model_version = ? AND a.model_sha256 = ?`,
    )
    .all(caseId, pack.name, pack.version, pack.sha256.toLowerCase()) as { id: number; tb_score: number }[];
  if (!analyses.length) return false;
  let score = Math.max(...analyses.map((a) => a.tb_score));
  let head: number | null = null;
  if (headId !== null) {
    const h = loadHead(db, headId);
    const scores = analyses.map((a) => siteScoreOf(db, h, a.id, { store: true, now }));
    if (scores.every((s) => s !== null)) {
      score = Math.max(...(scores as number[]));
      head = headId;
    }
  }
  // the score now comes from this pack's readings, so the case names it (as saveAnalysis does)
  const model = pack.sha256.toLowerCase();
  const r = db
    .prepare(
      `UPDATE studies SET ai_score = ?, ai_score_head = ?, ai_score_model = ?, ai_model_name = ?, ai_model_version = ?
        WHERE id = ? AND (ai_score IS NOT ? OR ai_score_head IS NOT ? OR ai_score_model IS NOT ?)`,
    )
    .run(score, head, model, pack.name, pack.version, caseId, score, head, model);
  return r.changes > 0;
}

/** The cases read by a pack whose score in force is not (yet) by `headId`. */
function casesToRescore(db: Database, pack: SitePack, headId: number | null): number[] {
  return db
    .prepare(
      `SELECT DISTINCT se.study_ref FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref JOIN studies s ON s.id = se.study_ref
        WHERE a.model_name = ? AND a.model_version = ? AND a.model_sha256 = ? AND s.ai_score_head IS NOT ?
        ORDER BY se.study_ref`,
    )
    .pluck()
    .all(pack.name, pack.version, pack.sha256.toLowerCase(), headId) as number[];
}

export interface RescoreEvents {
  progress(p: RescoreProgress): void;
  changed(caseIds: number[]): void;
}

export const RESCORE_BATCH = 100;

/** The background job. One per station; a new request while it runs is picked up when the run ends. */
export class Rescorer {
  private running: Promise<void> | null = null;
  private again = false;
  private state: RescoreProgress = { state: 'idle', done: 0, total: 0, headId: null, error: null };
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly pack: () => SitePack | null,
    private readonly events: RescoreEvents,
  ) {}

  progress(): RescoreProgress {
    return { ...this.state };
  }

  /** Bring every case to the score in force (cheap when nothing changed). */
  request(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.request();
      }
    });
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private async run(): Promise<void> {
    try {
      await this.runOnce();
      if (this.state.error) this.state = { ...this.state, error: null };
    } catch (e) {
      // A failed batch rolled back; the cases keep the scores they had and the next request tries again.
      this.state = { ...this.state, state: 'idle', error: e instanceof Error ? e.message : String(e) };
      this.events.progress(this.progress());
    }
  }

  private async runOnce(): Promise<void> {
    const pack = this.pack();
    if (!pack) return;
    // Cases whose score was produced by another head (or by none, where a head is in force) are brought to the one
    // in force. Cases the head cannot score (read without an embedding) keep the pack's score and are looked at
    // again by each run, at no cost but a query.
    const headId = thresholdInForce(this.db, pack).headId;
    const ids = casesToRescore(this.db, pack, headId);
    if (!ids.length) return;
    this.state = { state: 'running', done: 0, total: ids.length, headId, error: null };
    this.events.progress(this.progress());
    for (let at = 0; at < ids.length && !this.stopped; at += RESCORE_BATCH) {
      const batch = ids.slice(at, at + RESCORE_BATCH);
      const changed: number[] = [];
      this.db.transaction(() => {
        for (const id of batch) if (rescoreCase(this.db, id, pack, headId)) changed.push(id);
      }).immediate();
      this.state = { ...this.state, done: Math.min(ids.length, at + batch.length) };
      this.events.progress(this.progress());
      if (changed.length) this.events.changed(changed);
      await new Promise((r) => setImmediate(r));
      // The score in force changed again meanwhile: start over with the new one.
      if (thresholdInForce(this.db, pack).headId !== headId) {
        this.again = true;
        break;
      }
    }
    this.state = { ...this.state, state: 'idle' };
    this.events.progress(this.progress());
  }
}
