// The site head: an L2-regularised logistic regression over the pack's embedding of each confirmed case and its
// base TB logit, fitted in place on this station's confirmed cases (./logistic). Its regularisation is chosen by
// stratified k-fold cross-validation, and the same folds give every case an out-of-fold score: the head is judged
// by the AUC of those scores against the pack's own AUC on the same cases, and may be activated only when the
// paired bootstrap interval of the gain lies above zero. Its threshold is then chosen on its out-of-fold scores.
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';
import { appendAudit, type AuditActor } from '../accounts/audit';
import { crossValidate, matrix, type CrossValidation } from './logistic';
import { aucDifference, aucWithInterval, rocCurve, thresholdForSensitivity, thresholdRow, type Interval, type RocPoint } from './stats';
import { buildTable, calibrationHistory, chooseThreshold, dataFingerprint, insertVersion, siteCases, stationScores, WHO_TRIAGE, type CalibrationVersion, type SiteCase, type TableRow, type ThresholdChoice } from './calibration';
import { headFeatures, logitToScore } from './scoring';
import { packLabel, sameModel, type PackKey, type SitePack } from './threshold';

export const HEAD_MIN_CASES = 40;
export const HEAD_MIN_PER_CLASS = 10;

export interface HeadEvaluation {
  nPositive: number;
  nNegative: number;
  lambda: number;
  folds: number;
  seed: number;
  /** the pack's own AUC on the same cases */
  base: Interval;
  /** the AUC of the head's out-of-fold scores */
  site: Interval;
  /** site − base, with the paired bootstrap interval */
  gain: Interval;
  eligible: boolean;
  verdict: string;
}

/** Whether a head may be activated: the gain's 95 % interval lies above zero. */
export function headVerdict(gain: Interval): { eligible: boolean; verdict: string } {
  const f = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(3);
  if (gain.low > 0) return { eligible: true, verdict: `better than the pack's own score: AUC gain ${f(gain.value)} (95 % interval ${f(gain.low)} to ${f(gain.high)}, above zero)` };
  return { eligible: false, verdict: `not shown to be better: AUC gain ${f(gain.value)} with a 95 % interval from ${f(gain.low)} to ${f(gain.high)}, which includes zero or less; keep the pack's own score` };
}

/** Features and labels of cases for a head: [embedding…, base logit]. */
export function headMatrix(cases: readonly SiteCase[]): { X: ReturnType<typeof matrix>; y: boolean[] } {
  return { X: matrix(cases.map((c) => headFeatures(c.embedding!, c.baseLogit!))), y: cases.map((c) => c.positive) };
}

/** Cross-validate a head on in-memory cases and judge it against the base score (shared by the station and the manifest mode). */
export async function evaluateHead(cases: readonly SiteCase[], opts: { tick?: () => Promise<void> } = {}): Promise<{ cv: CrossValidation; evaluation: HeadEvaluation }> {
  const { X, y } = headMatrix(cases);
  const cv = await crossValidate(X, y, { tick: opts.tick });
  const base = cases.map((c) => c.baseScore);
  const oof = cv.oofLogit;
  const baseAuc = aucWithInterval(y, base)!;
  const siteAuc = aucWithInterval(y, oof)!;
  const gain = aucDifference(y, base, oof)!;
  const pos = y.filter(Boolean).length;
  return { cv, evaluation: { nPositive: pos, nNegative: y.length - pos, lambda: cv.lambda, folds: cv.folds, seed: cv.seed, base: baseAuc, site: siteAuc, gain, ...headVerdict(gain) } };
}

/** The cases a head can be fitted on (the pack's embedding of the right length) and why others are left out. */
export function headCases(db: Database, pack: SitePack): { cases: SiteCase[]; withoutEmbedding: number } {
  const dim = pack.embeddingDim;
  const { cases } = siteCases(db, pack);
  const usable = cases.filter((c) => c.embedding !== null && c.embedding.length === dim && c.baseLogit !== null);
  return { cases: usable, withoutEmbedding: cases.length - usable.length };
}

export interface HeadSummary extends HeadEvaluation {
  id: number;
  pack: PackKey;
  currentPack: boolean;
  /** this head's scores are the ones in force now */
  active: boolean;
  fingerprint: string;
  fittedBy: string;
  fittedAt: string;
  /** ROC of the head's out-of-fold scores and of the pack's score, on the cases it was fitted on */
  roc: { site: RocPoint[]; base: RocPoint[] };
  /** threshold table of the out-of-fold scores (choose the activation threshold from it) */
  table: TableRow[];
  sensitivity90: number | null;
}

interface HeadRow {
  id: number;
  pack_name: string;
  pack_version: string;
  pack_sha256: string;
  n_positive: number;
  n_negative: number;
  data_fingerprint: string;
  lambda: number;
  folds: number;
  seed: number;
  cv_json: string;
  eligible: 0 | 1;
  verdict: string;
  fitted_by: string;
  fitted_at: string;
}

interface StoredCv {
  base: Interval;
  site: Interval;
  gain: Interval;
  oof: { caseId: number; analysisId: number; positive: boolean; logit: number; baseScore: number }[];
}

function summary(db: Database, r: HeadRow, pack: SitePack | null, activeHead: number | null): HeadSummary {
  const cv = JSON.parse(r.cv_json) as StoredCv;
  const key = { name: r.pack_name, version: r.pack_version, sha256: r.pack_sha256 };
  const y = cv.oof.map((o) => o.positive);
  const site = cv.oof.map((o) => logitToScore(o.logit));
  const base = cv.oof.map((o) => o.baseScore);
  const sensitivity90 = thresholdForSensitivity(y, site, WHO_TRIAGE.sensitivity);
  const currentPack = pack ? sameModel(key, pack) : false;
  const station = currentPack && pack ? stationScores(db, pack, r.id).map((s) => s.score) : [];
  return {
    id: r.id, pack: key, currentPack, active: activeHead === r.id, fingerprint: r.data_fingerprint, fittedBy: r.fitted_by, fittedAt: r.fitted_at,
    nPositive: r.n_positive, nNegative: r.n_negative, lambda: r.lambda, folds: r.folds, seed: r.seed,
    base: cv.base, site: cv.site, gain: cv.gain, eligible: r.eligible === 1, verdict: r.verdict,
    roc: { site: rocCurve(y, site), base: rocCurve(y, base) },
    table: buildTable(y, site, station, [{ threshold: sensitivity90, mark: '90 % sensitivity' }]),
    sensitivity90,
  };
}

/** Every fitted head, newest first. */
export function listHeads(db: Database, pack: SitePack | null, activeHead: number | null): HeadSummary[] {
  return (db.prepare('SELECT * FROM site_heads ORDER BY id DESC').all() as HeadRow[]).map((r) => summary(db, r, pack, activeHead));
}

export function getHead(db: Database, id: number, pack: SitePack | null, activeHead: number | null): HeadSummary {
  const r = db.prepare('SELECT * FROM site_heads WHERE id = ?').get(id) as HeadRow | undefined;
  if (!r) throw new AppError('NOT_FOUND', `There is no site head ${id}.`);
  return summary(db, r, pack, activeHead);
}

/**
 * Fit a site head on this station's confirmed cases for the current pack: at least HEAD_MIN_CASES cases with
 * HEAD_MIN_PER_CLASS of each class, each with the pack's embedding. Stored (immutable) with its cross-validated
 * figures and audited; never activated here.
 */
export async function fitSiteHead(db: Database, pack: SitePack, actor: AuditActor & { displayName?: string }, opts: { tick?: () => Promise<void>; now?: string } = {}): Promise<HeadSummary> {
  if (!pack.embeddingDim) {
    throw new AppError('SITE_OTHER_MODEL', `The model pack ${packLabel(pack)} has no embedding output, so no site head can be fitted for it; a pack from cxr-tb-v1 1.2.1 on has one.`);
  }
  const { cases, withoutEmbedding } = headCases(db, pack);
  const pos = cases.filter((c) => c.positive).length;
  const neg = cases.length - pos;
  if (cases.length < HEAD_MIN_CASES || pos < HEAD_MIN_PER_CLASS || neg < HEAD_MIN_PER_CLASS) {
    throw new AppError('SITE_TOO_FEW_CASES', `A site head needs at least ${HEAD_MIN_CASES} confirmed cases with at least ${HEAD_MIN_PER_CLASS} of each class; there are ${pos} TB-positive and ${neg} TB-negative with the pack's embedding${withoutEmbedding ? ` (${withoutEmbedding} more were read without one, before the pack had it)` : ''}.`);
  }
  const { cv, evaluation } = await evaluateHead(cases, { tick: opts.tick });
  const now = opts.now ?? new Date().toISOString();
  const fingerprint = dataFingerprint(cases);
  const stored: StoredCv = {
    base: evaluation.base, site: evaluation.site, gain: evaluation.gain,
    oof: cases.map((c, i) => ({ caseId: c.caseId, analysisId: c.analysisId, positive: c.positive, logit: cv.oofLogit[i], baseScore: c.baseScore })),
  };
  const id = db.transaction(() => {
    const headId = Number(
      db
        .prepare(
          `INSERT INTO site_heads (pack_name, pack_version, pack_sha256, embedding_dim, n_positive, n_negative, data_fingerprint, lambda, folds, seed,
                                   model_json, cv_json, eligible, verdict, fitted_by, fitted_by_ref, fitted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(pack.name, pack.version, pack.sha256.toLowerCase(), pack.embeddingDim, evaluation.nPositive, evaluation.nNegative, fingerprint, cv.lambda, cv.folds, cv.seed,
          JSON.stringify(cv.model), JSON.stringify(stored), evaluation.eligible ? 1 : 0, evaluation.verdict, actor.displayName || actor.username, actor.userId, now).lastInsertRowid,
    );
    appendAudit(db, {
      actor: { userId: actor.userId, username: actor.username }, action: 'site.head_fit', target: { type: 'site_head', id: headId },
      details: { pack: packLabel(pack), packSha256: pack.sha256.toLowerCase(), nPositive: evaluation.nPositive, nNegative: evaluation.nNegative, lambda: cv.lambda, baseAuc: evaluation.base.value, siteAuc: evaluation.site.value, gainLow: evaluation.gain.low, eligible: evaluation.eligible, fingerprint },
    }, now);
    return headId;
  }).immediate();
  return getHead(db, id, pack, null);
}

/**
 * Put a fitted head in force for its pack, with its threshold chosen on its out-of-fold scores (default: the highest
 * with at least 90 % sensitivity): a new site calibration version. Refused for another pack's head or one whose
 * gain the intervals do not support.
 */
export function activateHead(db: Database, pack: SitePack, headId: number, choice: ThresholdChoice | null, actor: AuditActor & { displayName?: string }, opts: { note?: string; now?: string } = {}): CalibrationVersion {
  const now = opts.now ?? new Date().toISOString();
  const id = db.transaction(() => {
    const r = db.prepare('SELECT * FROM site_heads WHERE id = ?').get(headId) as HeadRow | undefined;
    if (!r) throw new AppError('NOT_FOUND', `There is no site head ${headId}.`);
    const key = { name: r.pack_name, version: r.pack_version, sha256: r.pack_sha256 };
    if (!sameModel(key, pack)) throw new AppError('SITE_OTHER_MODEL', `Site head ${headId} was fitted for ${packLabel(key)} (sha256 ${key.sha256.slice(0, 12)}…), not for the model in use, ${packLabel(pack)}: fit a new head.`);
    if (r.eligible !== 1) throw new AppError('SITE_HEAD_NOT_ELIGIBLE', `Site head ${headId} cannot be activated: ${r.verdict}.`);
    const cv = JSON.parse(r.cv_json) as StoredCv;
    const y = cv.oof.map((o) => o.positive);
    const scores = cv.oof.map((o) => logitToScore(o.logit));
    const { threshold, rule } = chooseThreshold(y, scores, choice ?? { sensitivity: WHO_TRIAGE.sensitivity });
    const row = thresholdRow(y, scores, threshold);
    return insertVersion(db, pack, {
      kind: 'threshold', threshold, headId, rule: `site head ${headId}: ${rule} (on its out-of-fold scores)`, nPositive: r.n_positive, nNegative: r.n_negative, fingerprint: r.data_fingerprint,
      auc: cv.site, sensitivity: row.sensitivity, specificity: row.specificity, note: opts.note,
    }, actor, 'site.head_activate', now);
  }).immediate();
  return calibrationHistory(db, pack).find((v) => v.version === id)!;
}

