// The site calibration: this station's confirmed cases (reference results, ./rules) against the current model's
// scores, as an ROC curve, an AUC with its bootstrap interval and a threshold table; choosing an operating point
// makes a new site calibration version (immutable, audited); a version that returns to the pack's default is one
// click. Everything is keyed to one pack (name, version, model sha256): another pack's versions are history only.
import type { Database } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { appendAudit, canonicalJson, type AuditActor } from '../accounts/audit';
import { allCaseTruths } from './results';
import { aucWithInterval, rocCurve, tableThresholds, thresholdForSensitivity, thresholdRow, type Interval, type RocPoint, type ThresholdRow } from './stats';
import { embeddingFromBlob, loadHead, logitToScore, siteScoreOf } from './scoring';
import { packLabel, sameModel, thresholdInForce, type PackKey, type SitePack, type ThresholdInForce } from './threshold';

/** Below this many positive or negative cases the calibration view warns that its numbers are uncertain. */
export const WARN_BELOW_PER_CLASS = 20;
/** WHO's target product profile for TB triage: 90 % sensitivity and 70 % specificity. */
export const WHO_TRIAGE = { sensitivity: 0.9, specificity: 0.7 } as const;

/** A confirmed case with the current model's reading of it (its image with the highest TB score). */
export interface SiteCase {
  caseId: number;
  positive: boolean;
  analysisId: number;
  baseScore: number;
  baseLogit: number | null;
  embedding: Float32Array | null;
  /** YYYY-MM of the study (or of the import, where the study has no date) */
  month: string;
}

export interface SiteCaseCounts {
  /** cases whose results make them TB-positive / TB-negative and that the model has read */
  positive: number;
  negative: number;
  /** cases with results that the rule leaves out (invalid only, conflicting) */
  excluded: number;
  /** confirmed cases the current model has not read (yet) */
  withoutReading: number;
}

function monthOf(studyDate: string | null, importedAt: string): string {
  return studyDate && /^\d{8}$/.test(studyDate) ? `${studyDate.slice(0, 4)}-${studyDate.slice(4, 6)}` : importedAt.slice(0, 7);
}

/** The confirmed cases and the pack's reading of each (the image with the highest TB score of the case). */
export function siteCases(db: Database, pack: PackKey): { cases: SiteCase[]; counts: SiteCaseCounts } {
  const truths = allCaseTruths(db);
  const confirmed = [...truths].filter(([, t]) => t.status === 'positive' || t.status === 'negative');
  const excluded = [...truths.values()].filter((t) => t.status === 'excluded').length;
  const ids = confirmed.map(([id]) => id);
  const rows = db
    .prepare(
      `SELECT se.study_ref AS caseId, a.id AS analysisId, a.tb_score AS score, a.base_logit AS logit, a.embedding AS emb, a.embedding_dim AS dim,
              s.study_date AS studyDate, s.imported_at AS importedAt
         FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref JOIN studies s ON s.id = se.study_ref
        WHERE se.study_ref IN (SELECT value FROM json_each(?)) AND a.model_name = ? AND a.model_version = ? AND a.model_sha256 = ?
        ORDER BY se.study_ref, a.tb_score DESC, a.id`,
    )
    .all(JSON.stringify(ids), pack.name, pack.version, pack.sha256.toLowerCase()) as { caseId: number; analysisId: number; score: number; logit: number | null; emb: Buffer | null; dim: number | null; studyDate: string | null; importedAt: string }[];
  const best = new Map<number, (typeof rows)[number]>();
  for (const r of rows) if (!best.has(r.caseId)) best.set(r.caseId, r);
  const cases: SiteCase[] = [];
  for (const [caseId, t] of confirmed) {
    const r = best.get(caseId);
    if (!r) continue;
    cases.push({ caseId, positive: t.status === 'positive', analysisId: r.analysisId, baseScore: r.score, baseLogit: r.logit, embedding: embeddingFromBlob(r.emb, r.dim), month: monthOf(r.studyDate, r.importedAt) });
  }
  cases.sort((a, b) => a.caseId - b.caseId);
  const positive = cases.filter((c) => c.positive).length;
  return { cases, counts: { positive, negative: cases.length - positive, excluded, withoutReading: confirmed.length - cases.length } };
}

/** What the calibration used: the cases, their truth and the reading scored (a change of any shows as a new fingerprint). */
export function dataFingerprint(cases: readonly { caseId: number; positive: boolean; analysisId: number }[]): string {
  return createHash('sha256').update(canonicalJson(cases.map((c) => [c.caseId, c.positive ? 1 : 0, c.analysisId]))).digest('hex');
}

/** Each case's score in force on this station for a pack: the highest of its images', under the given site head or none. */
export function stationScores(db: Database, pack: PackKey, headId: number | null): { caseId: number; score: number; month: string }[] {
  if (headId === null) {
    return db
      .prepare(
        `SELECT se.study_ref AS caseId, max(a.tb_score) AS score, s.study_date AS studyDate, s.imported_at AS importedAt
           FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref JOIN studies s ON s.id = se.study_ref
          WHERE a.model_name = ? AND a.model_version = ? AND a.model_sha256 = ? GROUP BY se.study_ref`,
      )
      .all(pack.name, pack.version, pack.sha256.toLowerCase())
      .map((r) => {
        const x = r as { caseId: number; score: number; studyDate: string | null; importedAt: string };
        return { caseId: x.caseId, score: x.score, month: monthOf(x.studyDate, x.importedAt) };
      });
  }
  return db
    .prepare(
      `SELECT se.study_ref AS caseId, max(ss.score) AS score, s.study_date AS studyDate, s.imported_at AS importedAt
         FROM site_scores ss JOIN analyses a ON a.id = ss.analysis_ref JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref
         JOIN studies s ON s.id = se.study_ref
        WHERE ss.head_ref = ? AND a.model_name = ? AND a.model_version = ? AND a.model_sha256 = ? GROUP BY se.study_ref`,
    )
    .all(headId, pack.name, pack.version, pack.sha256.toLowerCase())
    .map((r) => {
      const x = r as { caseId: number; score: number; studyDate: string | null; importedAt: string };
      return { caseId: x.caseId, score: x.score, month: monthOf(x.studyDate, x.importedAt) };
    });
}

export interface TableRow extends ThresholdRow {
  /** of every 100 cases this station has scored, how many this threshold flags */
  flaggedPer100Station: number | null;
  /** which special thresholds this row is */
  marks: ('pack default' | 'in force' | '90 % sensitivity')[];
}

export interface CurveSummary {
  auc: Interval | null;
  roc: RocPoint[];
}

export interface CalibrationReport {
  pack: SitePack;
  inForce: ThresholdInForce;
  /** the scores the table is about: the site head in force (its out-of-fold scores where it was fitted), else the pack's own */
  scorer: { headId: number | null; label: string };
  counts: SiteCaseCounts;
  warnings: string[];
  /** the pack's own score on the confirmed cases */
  base: CurveSummary;
  /** the site head in force, when one is */
  site: CurveSummary | null;
  table: TableRow[];
  /** the highest threshold with at least 90 % sensitivity on the scorer's scores */
  sensitivity90: number | null;
  whoTriage: typeof WHO_TRIAGE;
  fingerprint: string;
  stationCases: number;
  /** the width of the AUC interval of the scorer (high − low) */
  aucIntervalWidth: number | null;
}

/** The scorer's score of each confirmed case: the pack's own, or the site head's (out-of-fold where the head was fitted on the case). */
export function scorerScores(db: Database, cases: readonly SiteCase[], headId: number | null): number[] {
  if (headId === null) return cases.map((c) => c.baseScore);
  const head = loadHead(db, headId);
  const oof = headOutOfFold(db, headId);
  return cases.map((c) => {
    const o = oof.get(c.caseId);
    if (o && o.analysisId === c.analysisId) return o.score;
    const s = siteScoreOf(db, head, c.analysisId);
    return s ?? c.baseScore;
  });
}

/** A site head's out-of-fold scores of the cases it was fitted on: case → score. */
export function headOutOfFold(db: Database, headId: number): Map<number, { analysisId: number; score: number }> {
  const cv = JSON.parse((db.prepare('SELECT cv_json FROM site_heads WHERE id = ?').pluck().get(headId) as string | undefined) ?? '{}') as { oof?: { caseId: number; analysisId: number; logit: number }[] };
  return new Map((cv.oof ?? []).map((o) => [o.caseId, { analysisId: o.analysisId, score: logitToScore(o.logit) }]));
}

/** The threshold table of some scores: every 5 points, and the given special thresholds. */
export function buildTable(y: readonly boolean[], scores: readonly number[], station: readonly number[], marks: { threshold: number | null; mark: TableRow['marks'][number] }[]): TableRow[] {
  return tableThresholds(marks.map((m) => m.threshold)).map((t) => {
    const row = thresholdRow(y, scores, t);
    const flagged = station.filter((s) => s >= t).length;
    return {
      ...row,
      flaggedPer100Station: station.length ? (100 * flagged) / station.length : null,
      marks: marks.filter((m) => m.threshold !== null && Math.abs(m.threshold - t) < 1e-4).map((m) => m.mark),
    };
  });
}

export function countWarnings(pos: number, neg: number, auc: Interval | null): string[] {
  const w: string[] = [];
  if (pos < WARN_BELOW_PER_CLASS || neg < WARN_BELOW_PER_CLASS) {
    w.push(`Only ${pos} TB-positive and ${neg} TB-negative confirmed case${pos + neg === 1 ? '' : 's'}: below ${WARN_BELOW_PER_CLASS} of each, sensitivity and specificity here are uncertain${auc ? ` (the AUC's 95 % interval is ${(auc.high - auc.low).toFixed(2)} wide)` : ''}. Enter more results before relying on a site threshold.`);
  }
  return w;
}

/** The calibration view of the current pack on this station's confirmed cases. */
export function calibrationReport(db: Database, pack: SitePack): CalibrationReport {
  const inForce = thresholdInForce(db, pack);
  const { cases, counts } = siteCases(db, pack);
  const y = cases.map((c) => c.positive);
  const base = cases.map((c) => c.baseScore);
  const headId = inForce.headId;
  const scores = scorerScores(db, cases, headId);
  const baseSummary: CurveSummary = { auc: aucWithInterval(y, base), roc: rocCurve(y, base) };
  const siteSummary: CurveSummary | null = headId === null ? null : { auc: aucWithInterval(y, scores), roc: rocCurve(y, scores) };
  const mine = siteSummary ?? baseSummary;
  const sensitivity90 = thresholdForSensitivity(y, scores, WHO_TRIAGE.sensitivity);
  const station = stationScores(db, pack, headId).map((s) => s.score);
  const warnings = countWarnings(counts.positive, counts.negative, mine.auc);
  if (counts.withoutReading) warnings.push(`${counts.withoutReading} confirmed case${counts.withoutReading === 1 ? ' has' : 's have'} no reading by ${packLabel(pack)} yet and ${counts.withoutReading === 1 ? 'is' : 'are'} not counted.`);
  if (headId !== null) {
    const fitted = headOutOfFold(db, headId);
    const fresh = cases.filter((c) => !fitted.has(c.caseId)).length;
    if (fresh) warnings.push(`${fresh} confirmed case${fresh === 1 ? ' was' : 's were'} added since site head ${headId} was fitted (scored by the head as new cases); fit again to use them.`);
  }
  return {
    pack,
    inForce,
    scorer: { headId, label: headId === null ? `${packLabel(pack)} TB score` : `site head ${headId} score (out-of-fold on the cases it was fitted on)` },
    counts,
    warnings,
    base: baseSummary,
    site: siteSummary,
    table: buildTable(y, scores, station, [
      { threshold: headId === null ? pack.defaultThreshold : null, mark: 'pack default' },
      { threshold: inForce.value, mark: 'in force' },
      { threshold: sensitivity90, mark: '90 % sensitivity' },
    ]),
    sensitivity90,
    whoTriage: WHO_TRIAGE,
    fingerprint: dataFingerprint(cases),
    stationCases: station.length,
    aucIntervalWidth: mine.auc ? mine.auc.high - mine.auc.low : null,
  };
}

/** How to choose the threshold: a value on the 0–100 score, or the highest one that keeps a sensitivity. */
export type ThresholdChoice = { threshold: number } | { sensitivity: number };

export function chooseThreshold(y: readonly boolean[], scores: readonly number[], choice: ThresholdChoice): { threshold: number; rule: string } {
  if ('threshold' in choice) {
    if (!Number.isFinite(choice.threshold) || choice.threshold < 0 || choice.threshold > 100) throw new AppError('BAD_REQUEST', `A threshold is a TB score from 0 to 100 (got ${choice.threshold}).`);
    return { threshold: choice.threshold, rule: `threshold ${choice.threshold}` };
  }
  if (!(choice.sensitivity > 0 && choice.sensitivity <= 1)) throw new AppError('BAD_REQUEST', `A sensitivity is between 0 and 1 (got ${choice.sensitivity}).`);
  const t = thresholdForSensitivity(y, scores, choice.sensitivity);
  if (t === null) throw new AppError('SITE_TOO_FEW_CASES', 'There is no TB-positive confirmed case, so no threshold can be chosen for a sensitivity.');
  return { threshold: t, rule: `highest threshold with sensitivity ≥ ${Math.round(choice.sensitivity * 1000) / 10} %` };
}

export interface CalibrationVersion {
  version: number;
  pack: PackKey;
  /** false: made for another pack (another model), kept as history */
  currentPack: boolean;
  inForce: boolean;
  kind: 'threshold' | 'pack_default';
  threshold: number | null;
  headId: number | null;
  rule: string;
  nPositive: number;
  nNegative: number;
  fingerprint: string;
  auc: Interval | null;
  sensitivity: number | null;
  specificity: number | null;
  note: string;
  by: string;
  at: string;
}

interface VersionRow {
  id: number;
  pack_name: string;
  pack_version: string;
  pack_sha256: string;
  kind: 'threshold' | 'pack_default';
  threshold: number | null;
  head_ref: number | null;
  rule: string;
  n_positive: number;
  n_negative: number;
  data_fingerprint: string;
  auc: number | null;
  auc_low: number | null;
  auc_high: number | null;
  sensitivity: number | null;
  specificity: number | null;
  note: string;
  created_by: string;
  created_at: string;
}

/** The newest site calibration version of any pack (a change made by another process shows as a new one), or null. */
export function latestCalibrationVersion(db: Database): number | null {
  return (db.prepare('SELECT max(id) FROM site_calibrations').pluck().get() as number | null) ?? null;
}

/** Every site calibration version, newest first, each marked as this pack's or another model's. */
export function calibrationHistory(db: Database, pack: PackKey | null): CalibrationVersion[] {
  const rows = db.prepare('SELECT * FROM site_calibrations ORDER BY id DESC').all() as VersionRow[];
  let inForceId: number | null = null;
  if (pack) {
    const mine = rows.find((r) => sameModel({ name: r.pack_name, version: r.pack_version, sha256: r.pack_sha256 }, pack));
    inForceId = mine && mine.kind === 'threshold' ? mine.id : null;
  }
  return rows.map((r) => {
    const key = { name: r.pack_name, version: r.pack_version, sha256: r.pack_sha256 };
    return {
      version: r.id, pack: key, currentPack: pack ? sameModel(key, pack) : false, inForce: r.id === inForceId, kind: r.kind, threshold: r.threshold, headId: r.head_ref, rule: r.rule,
      nPositive: r.n_positive, nNegative: r.n_negative, fingerprint: r.data_fingerprint,
      auc: r.auc === null ? null : { value: r.auc, low: r.auc_low ?? r.auc, high: r.auc_high ?? r.auc },
      sensitivity: r.sensitivity, specificity: r.specificity, note: r.note, by: r.created_by, at: r.created_at,
    };
  });
}

export interface NewVersion {
  kind: 'threshold' | 'pack_default';
  threshold: number | null;
  headId: number | null;
  rule: string;
  nPositive: number;
  nNegative: number;
  fingerprint: string;
  auc: Interval | null;
  sensitivity: number | null;
  specificity: number | null;
  note?: string;
}

/** Append a site calibration version (in the caller's transaction) and its audit entry. */
export function insertVersion(db: Database, pack: PackKey, v: NewVersion, actor: AuditActor & { displayName?: string }, action: string, now: string): number {
  const id = Number(
    db
      .prepare(
        `INSERT INTO site_calibrations (pack_name, pack_version, pack_sha256, kind, threshold, head_ref, rule, n_positive, n_negative, data_fingerprint,
                                        auc, auc_low, auc_high, sensitivity, specificity, note, created_by, created_by_ref, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(pack.name, pack.version, pack.sha256.toLowerCase(), v.kind, v.threshold, v.headId, v.rule, v.nPositive, v.nNegative, v.fingerprint,
        v.auc?.value ?? null, v.auc?.low ?? null, v.auc?.high ?? null, v.sensitivity, v.specificity, (v.note ?? '').slice(0, 2000), actor.displayName || actor.username, actor.userId, now).lastInsertRowid,
  );
  appendAudit(db, {
    actor: { userId: actor.userId, username: actor.username }, action, target: { type: 'site_calibration', id },
    details: { pack: `${pack.name} ${pack.version}`, packSha256: pack.sha256.toLowerCase(), kind: v.kind, threshold: v.threshold, headId: v.headId, rule: v.rule, nPositive: v.nPositive, nNegative: v.nNegative, fingerprint: v.fingerprint, auc: v.auc?.value ?? null },
  }, now);
  return id;
}

/**
 * Make the chosen threshold the site threshold (a new version), on the score in force: the pack's own, or the site
 * head's when one is in force. Needs at least one confirmed case of each class.
 */
export function setSiteThreshold(db: Database, pack: SitePack, choice: ThresholdChoice, actor: AuditActor & { displayName?: string }, opts: { note?: string; now?: string } = {}): CalibrationVersion {
  const now = opts.now ?? new Date().toISOString();
  const id = db.transaction(() => {
    const inForce = thresholdInForce(db, pack);
    const { cases, counts } = siteCases(db, pack);
    if (!counts.positive || !counts.negative) {
      throw new AppError('SITE_TOO_FEW_CASES', `A site threshold needs confirmed cases of both kinds read by ${packLabel(pack)}; there are ${counts.positive} TB-positive and ${counts.negative} TB-negative. Enter reference results first.`);
    }
    const y = cases.map((c) => c.positive);
    const scores = scorerScores(db, cases, inForce.headId);
    const { threshold, rule } = chooseThreshold(y, scores, choice);
    const row = thresholdRow(y, scores, threshold);
    return insertVersion(db, pack, {
      kind: 'threshold', threshold, headId: inForce.headId, rule, nPositive: counts.positive, nNegative: counts.negative, fingerprint: dataFingerprint(cases),
      auc: aucWithInterval(y, scores), sensitivity: row.sensitivity, specificity: row.specificity, note: opts.note,
    }, actor, 'site.threshold', now);
  }).immediate();
  return calibrationHistory(db, pack).find((v) => v.version === id)!;
}

/** Back to the pack's default threshold and the pack's own score (a new version; the history is kept). Null when already there. */
export function rollbackToPackDefault(db: Database, pack: SitePack, actor: AuditActor & { displayName?: string }, opts: { note?: string; now?: string } = {}): CalibrationVersion | null {
  const now = opts.now ?? new Date().toISOString();
  const id = db.transaction(() => {
    const inForce = thresholdInForce(db, pack);
    if (inForce.source === 'pack') return null;
    const { cases, counts } = siteCases(db, pack);
    const y = cases.map((c) => c.positive);
    const base = cases.map((c) => c.baseScore);
    const row = cases.length ? thresholdRow(y, base, pack.defaultThreshold) : null;
    return insertVersion(db, pack, {
      kind: 'pack_default', threshold: null, headId: null, rule: `back to the pack default (${pack.defaultThreshold}) from ${inForce.label}`,
      nPositive: counts.positive, nNegative: counts.negative, fingerprint: dataFingerprint(cases), auc: aucWithInterval(y, base),
      sensitivity: row?.sensitivity ?? null, specificity: row?.specificity ?? null, note: opts.note,
    }, actor, 'site.rollback', now);
  }).immediate();
  return id === null ? null : calibrationHistory(db, pack).find((v) => v.version === id)!;
}
