// Site calibration and site-head fitting measured on a data set instead of a case store: the model reads a
// manifest's labelled images (../shared/datasets layout: one JSON line per image with `image`, `label`, `split`),
// and the same code as the station's fits on the `train` rows and reports on the `test` rows, or cross-validates
// where there is no test split. `simulateSites` plays a new site many times: random stratified halves, one to fit
// on, one to measure on. This is how a clinic's physicist (or the project) measures a site or a pack quickly.
import path from 'node:path';
import { AppError, toErrorInfo } from '../errors';
import { analyzeDetailed, decodeFile, type Analyzer } from '../inference/index';
import { readManifest } from '../evaluation/index';
import { aucWithInterval, seededRandom, shuffle, thresholdForSensitivity, thresholdRow } from './stats';
import { rocAuc } from '../evaluation/metrics';
import { evaluateHead } from './head';
import { foldCount, predictLogit, stratifiedFolds } from './logistic';
import { headFeatures, logitToScore } from './scoring';
import type { SiteCase } from './calibration';

const POSITIVE = new Set(['tb']);
const NEGATIVE = new Set(['normal', 'non_tb', 'not_tb', 'healthy', 'sick_not_tb']);

export interface ManifestCase extends SiteCase {
  id: string;
  source: string;
  split: string;
}

export interface ManifestRead {
  cases: ManifestCase[];
  /** rows whose label is neither TB nor a TB-negative label */
  skippedLabels: Record<string, number>;
  failures: { id: string; file: string; error: { code: string; message: string } }[];
}

/** Read every labelled image of the manifests with the model (the manifest's own splits). */
export async function readManifestCases(analyzer: Analyzer, manifests: readonly string[], opts: { onProgress?: (done: number, total: number) => void; limit?: number } = {}): Promise<ManifestRead> {
  const dim = analyzer.pack.manifest.embedding?.dim ?? null;
  const rows = manifests.flatMap((m) => readManifest(m, 'manifest'));
  const picked = opts.limit ? rows.slice(0, opts.limit) : rows;
  const skippedLabels: Record<string, number> = {};
  const cases: ManifestCase[] = [];
  const failures: ManifestRead['failures'] = [];
  let done = 0;
  let k = 0;
  for (const r of picked) {
    const label = String(r.label ?? '').toLowerCase();
    if (!POSITIVE.has(label) && !NEGATIVE.has(label)) {
      skippedLabels[label || '(none)'] = (skippedLabels[label || '(none)'] ?? 0) + 1;
      opts.onProgress?.(++done, picked.length);
      continue;
    }
    try {
      const { decoded, ms } = await decodeFile(r._path);
      const d = await analyzeDetailed(analyzer, decoded, ms);
      cases.push({
        id: r.id, source: r._source, split: r._split, caseId: k++, positive: POSITIVE.has(label), analysisId: 0,
        baseScore: d.result.tbScore, baseLogit: d.baseLogit, embedding: d.embedding && d.embedding.length === dim ? d.embedding : null, month: '',
      });
    } catch (e) {
      failures.push({ id: r.id, file: path.relative(r._dir, r._path), error: toErrorInfo(e) });
    }
    opts.onProgress?.(++done, picked.length);
  }
  return { cases, skippedLabels, failures };
}

export interface OperatingFigures {
  auc: number | null;
  auc95: [number, number] | null;
  /** chosen on the training rows for at least 90 % sensitivity */
  threshold: number | null;
  /** on the test rows at that threshold */
  sensitivity: number | null;
  specificity: number | null;
  accuracy: number | null;
}

const TARGET = 0.9;

function figures(yTest: readonly boolean[], sTest: readonly number[], threshold: number | null, predicted?: readonly boolean[]): OperatingFigures {
  const auc = aucWithInterval(yTest, sTest);
  let tp = 0, tn = 0, fp = 0, fn = 0;
  yTest.forEach((y, i) => {
    const p = predicted ? predicted[i] : threshold !== null && sTest[i] >= threshold;
    if (p && y) tp++;
    else if (p) fp++;
    else if (y) fn++;
    else tn++;
  });
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    auc: auc ? r4(auc.value) : null,
    auc95: auc ? [r4(auc.low), r4(auc.high)] : null,
    threshold: threshold === null ? null : r4(threshold),
    sensitivity: tp + fn ? r4(tp / (tp + fn)) : null,
    specificity: tn + fp ? r4(tn / (tn + fp)) : null,
    accuracy: yTest.length && (predicted || threshold !== null) ? r4((tp + tn) / yTest.length) : null,
  };
}

function requireBoth(cases: readonly ManifestCase[], what: string): void {
  const pos = cases.filter((c) => c.positive).length;
  if (pos < 2 || cases.length - pos < 2) throw new AppError('SITE_TOO_FEW_CASES', `${what} needs at least two TB and two TB-negative images; it has ${pos} and ${cases.length - pos}.`);
}

/** A site head fitted on some cases: its model, and the threshold its out-of-fold scores give for 90 % sensitivity. */
async function fitOn(train: readonly ManifestCase[]) {
  const { cv, evaluation } = await evaluateHead(train);
  const y = train.map((c) => c.positive);
  const threshold = thresholdForSensitivity(y, cv.oofLogit.map(logitToScore), TARGET);
  return { cv, evaluation, threshold };
}

const headScoreOf = (model: Parameters<typeof predictLogit>[0], c: ManifestCase) => logitToScore(predictLogit(model, headFeatures(c.embedding!, c.baseLogit!)));

export interface SplitPlan {
  mode: 'split' | 'cross-validation';
  train: ManifestCase[];
  test: ManifestCase[];
}

/** The manifest's own train/test rows, or (no test rows) every row for cross-validation. */
export function planSplit(cases: readonly ManifestCase[], trainSplit = 'train', testSplit = 'test'): SplitPlan {
  const test = cases.filter((c) => c.split === testSplit);
  if (test.length) return { mode: 'split', train: cases.filter((c) => c.split === trainSplit), test };
  return { mode: 'cross-validation', train: [...cases], test: [...cases] };
}

export interface ManifestCalibration {
  mode: 'split' | 'cross-validation';
  nTrain: number;
  nTest: number;
  base: OperatingFigures;
  /** the pack's own score at the pack's own threshold, on the test rows */
  atPackThreshold: OperatingFigures;
  /** cross-validation: each fold's threshold (chosen on the other folds) */
  foldThresholds?: number[];
}

export interface ManifestFit extends ManifestCalibration {
  site: OperatingFigures & { lambda: number; eligibleOnTrain: boolean; verdictOnTrain: string };
}

const CV_OUTER_SEED = 29;

/** `cxr site calibrate --manifest`: the pack's score, threshold chosen on train, figures on test (or cross-validated). */
export function calibrateOnCases(cases: readonly ManifestCase[], packThreshold: number, plan: SplitPlan = planSplit(cases)): ManifestCalibration {
  requireBoth(plan.test, 'The test rows');
  const yTest = plan.test.map((c) => c.positive);
  const sTest = plan.test.map((c) => c.baseScore);
  const pack = figures(yTest, sTest, packThreshold);
  if (plan.mode === 'split') {
    requireBoth(plan.train, 'The training rows');
    const t = thresholdForSensitivity(plan.train.map((c) => c.positive), plan.train.map((c) => c.baseScore), TARGET);
    return { mode: 'split', nTrain: plan.train.length, nTest: plan.test.length, base: figures(yTest, sTest, t), atPackThreshold: pack };
  }
  const k = foldCount(yTest);
  const fold = stratifiedFolds(yTest, k, CV_OUTER_SEED);
  const predicted = new Array<boolean>(yTest.length).fill(false);
  const foldThresholds: number[] = [];
  for (let f = 0; f < k; f++) {
    const tr = plan.test.filter((_, i) => fold[i] !== f);
    const t = thresholdForSensitivity(tr.map((c) => c.positive), tr.map((c) => c.baseScore), TARGET)!;
    foldThresholds.push(Math.round(t * 1e4) / 1e4);
    plan.test.forEach((c, i) => {
      if (fold[i] === f) predicted[i] = c.baseScore >= t;
    });
  }
  const all = thresholdForSensitivity(yTest, sTest, TARGET);
  return { mode: 'cross-validation', nTrain: plan.test.length, nTest: plan.test.length, base: figures(yTest, sTest, all, predicted), atPackThreshold: pack, foldThresholds };
}

/** `cxr site fit --manifest`: base and site head, each thresholded on train and measured on test (or nested cross-validation). */
export async function fitOnCases(cases: readonly ManifestCase[], packThreshold: number, plan: SplitPlan = planSplit(cases)): Promise<ManifestFit> {
  const usable = (cs: readonly ManifestCase[]) => cs.filter((c) => c.embedding && c.baseLogit !== null);
  if (usable(plan.test).length !== plan.test.length || usable(plan.train).length !== plan.train.length) {
    throw new AppError('SITE_OTHER_MODEL', 'The model pack gives no embedding for these images, so no site head can be fitted: use a pack from cxr-tb-v1 1.2.1 on.');
  }
  const calibration = calibrateOnCases(cases, packThreshold, plan);
  const yTest = plan.test.map((c) => c.positive);
  if (plan.mode === 'split') {
    requireBoth(plan.train, 'The training rows');
    const fit = await fitOn(plan.train);
    const sTest = plan.test.map((c) => headScoreOf(fit.cv.model, c));
    return { ...calibration, site: { ...figures(yTest, sTest, fit.threshold), lambda: fit.cv.lambda, eligibleOnTrain: fit.evaluation.eligible, verdictOnTrain: fit.evaluation.verdict } };
  }
  const k = foldCount(yTest);
  const fold = stratifiedFolds(yTest, k, CV_OUTER_SEED);
  const scores = new Array<number>(yTest.length).fill(0);
  const predicted = new Array<boolean>(yTest.length).fill(false);
  for (let f = 0; f < k; f++) {
    const fit = await fitOn(plan.test.filter((_, i) => fold[i] !== f));
    plan.test.forEach((c, i) => {
      if (fold[i] !== f) return;
      scores[i] = headScoreOf(fit.cv.model, c);
      predicted[i] = scores[i] >= fit.threshold!;
    });
  }
  const all = await fitOn(plan.test);
  return {
    ...calibration,
    site: { ...figures(yTest, scores, all.threshold, predicted), lambda: all.cv.lambda, eligibleOnTrain: all.evaluation.eligible, verdictOnTrain: all.evaluation.verdict },
  };
}

export interface Spread {
  mean: number;
  sd: number;
  min: number;
  max: number;
}

function spread(v: readonly number[]): Spread {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1));
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { mean: r(mean), sd: r(sd), min: r(Math.min(...v)), max: r(Math.max(...v)) };
}

export interface SimulationSplit {
  split: number;
  nFit: number;
  nMeasure: number;
  baseAuc: number;
  siteAuc: number;
  accuracyPackThreshold: number;
  accuracyBaseSiteThreshold: number;
  accuracySiteHead: number;
  sensitivityPackThreshold: number;
  specificityPackThreshold: number;
  sensitivityBaseSiteThreshold: number;
  specificityBaseSiteThreshold: number;
  /** the site threshold chosen on the first half for the pack's own score */
  baseSiteThreshold: number;
  sensitivitySiteHead: number;
  specificitySiteHead: number;
  headEligible: boolean;
  lambda: number;
}

export interface Simulation {
  source: string;
  n: number;
  nPositive: number;
  splits: number;
  seed: number;
  summary: Record<Exclude<keyof SimulationSplit, 'split' | 'nFit' | 'nMeasure' | 'headEligible' | 'lambda'>, Spread> & { headEligibleRate: number };
  rows: SimulationSplit[];
}

/**
 * A new site, simulated `splits` times: each time the cases are halved at random (stratified, seeded), the station's
 * calibration and site head are fitted on one half exactly as on a station, and everything is measured on the
 * other half: the pack's score (AUC; accuracy at the pack's threshold and at a site threshold chosen on the first
 * half for 90 % sensitivity) and the site head's (AUC; accuracy at its threshold from its out-of-fold scores).
 */
export async function simulateSites(cases: readonly ManifestCase[], packThreshold: number, opts: { splits?: number; seed?: number; source?: string; onSplit?: (row: SimulationSplit) => void } = {}): Promise<Simulation> {
  requireBoth(cases, 'The simulation');
  const splits = opts.splits ?? 20;
  const seed = opts.seed ?? 1;
  const rows: SimulationSplit[] = [];
  for (let s = 0; s < splits; s++) {
    const rand = seededRandom(seed * 1000003 + s);
    const half = new Array<boolean>(cases.length).fill(false);
    for (const cls of [true, false]) {
      const idx = shuffle(cases.map((c, i) => (c.positive === cls ? i : -1)).filter((i) => i >= 0), rand);
      idx.forEach((i, k) => (half[i] = k % 2 === 0));
    }
    const fitCases = cases.filter((_, i) => half[i]);
    const measure = cases.filter((_, i) => !half[i]);
    const y = measure.map((c) => c.positive);
    const base = measure.map((c) => c.baseScore);
    const baseSite = thresholdForSensitivity(fitCases.map((c) => c.positive), fitCases.map((c) => c.baseScore), TARGET)!;
    const fit = await fitOn(fitCases);
    const site = measure.map((c) => headScoreOf(fit.cv.model, c));
    const atPack = thresholdRow(y, base, packThreshold);
    const atBaseSite = thresholdRow(y, base, baseSite);
    const atHead = thresholdRow(y, site, fit.threshold!);
    const acc = (r: typeof atPack) => (r.tp + r.tn) / y.length;
    const row: SimulationSplit = {
      split: s, nFit: fitCases.length, nMeasure: measure.length,
      baseAuc: rocAuc(y, base)!,
      siteAuc: rocAuc(y, site)!,
      accuracyPackThreshold: acc(atPack), accuracyBaseSiteThreshold: acc(atBaseSite), accuracySiteHead: acc(atHead),
      sensitivityPackThreshold: atPack.sensitivity!, specificityPackThreshold: atPack.specificity!,
      sensitivityBaseSiteThreshold: atBaseSite.sensitivity!, specificityBaseSiteThreshold: atBaseSite.specificity!, baseSiteThreshold: baseSite,
      sensitivitySiteHead: atHead.sensitivity!, specificitySiteHead: atHead.specificity!,
      headEligible: fit.evaluation.eligible, lambda: fit.cv.lambda,
    };
    rows.push(row);
    opts.onSplit?.(row);
  }
  const keys = [
    'baseAuc', 'siteAuc', 'accuracyPackThreshold', 'accuracyBaseSiteThreshold', 'accuracySiteHead', 'sensitivityPackThreshold', 'specificityPackThreshold',
    'sensitivityBaseSiteThreshold', 'specificityBaseSiteThreshold', 'baseSiteThreshold', 'sensitivitySiteHead', 'specificitySiteHead',
  ] as const;
  const summary = Object.fromEntries(keys.map((k) => [k, spread(rows.map((r) => r[k]))])) as unknown as Simulation['summary'];
  summary.headEligibleRate = rows.filter((r) => r.headEligible).length / rows.length;
  const pos = cases.filter((c) => c.positive).length;
  return { source: opts.source ?? '', n: cases.length, nPositive: pos, splits, seed, summary, rows };
}
