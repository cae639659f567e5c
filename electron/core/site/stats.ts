// The statistics of a site calibration, on plain arrays (score ≥ threshold = flagged): the ROC curve, the AUC with a
// stratified bootstrap interval, the paired interval of the difference of two AUCs on the same cases, the threshold
// table (sensitivity, specificity, PPV, NPV, flagged per 100, each with its counts) and the threshold that keeps a
// wanted sensitivity. Everything random comes from a seeded generator, so the same cases give the same numbers.
import { binaryStats } from '../evaluation/metrics';

// The AUC, its bootstrap intervals, the seeded generator and the threshold for a sensitivity are the evaluation's
// own (one implementation for the station's calibration and for `cxr eval`); re-exported for the site's callers.
export {
  aucDifference, aucWithInterval, BOOTSTRAP_REPLICATES, BOOTSTRAP_SEED, seededRandom, thresholdForSensitivity,
  type BootstrapOptions, type Interval,
} from '../evaluation/metrics';

/** Fisher–Yates shuffle with the given generator (in place). */
export function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export interface RocPoint {
  /** flagged when score ≥ threshold (Infinity: nothing flagged) */
  threshold: number;
  tp: number;
  fp: number;
  /** sensitivity */
  tpr: number;
  /** 1 - specificity */
  fpr: number;
}

/** The empirical ROC curve from (0, 0) to (1, 1): one point per distinct score, thresholds falling. */
export function rocCurve(y: readonly boolean[], scores: readonly number[]): RocPoint[] {
  const nPos = y.filter(Boolean).length;
  const nNeg = y.length - nPos;
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const out: RocPoint[] = [{ threshold: Infinity, tp: 0, fp: 0, tpr: 0, fpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k]];
    while (k < order.length && scores[order[k]] === s) {
      if (y[order[k]]) tp++;
      else fp++;
      k++;
    }
    out.push({ threshold: s, tp, fp, tpr: nPos ? tp / nPos : 0, fpr: nNeg ? fp / nNeg : 0 });
  }
  return out;
}

export interface ThresholdRow {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** null where the denominator is zero */
  sensitivity: number | null;
  specificity: number | null;
  ppv: number | null;
  npv: number | null;
  /** of every 100 of these cases, how many are flagged */
  flaggedPer100: number | null;
}

/** The counts and rates at one threshold (flagged when score ≥ threshold). */
export function thresholdRow(y: readonly boolean[], scores: readonly number[], threshold: number): ThresholdRow {
  const { n, tp, fp, tn, fn, sensitivity, specificity } = binaryStats(y, scores, threshold);
  const div = (a: number, b: number) => (b ? a / b : null);
  return {
    threshold, tp, fp, tn, fn, sensitivity, specificity,
    ppv: div(tp, tp + fp),
    npv: div(tn, tn + fn),
    flaggedPer100: n ? (100 * (tp + fp)) / n : null,
  };
}

/** The thresholds a threshold table lists: every 5 points of the 0–100 scale, and the ones that matter here. */
export function tableThresholds(extra: readonly (number | null | undefined)[]): number[] {
  const set = new Set<number>();
  for (let t = 5; t <= 95; t += 5) set.add(t);
  for (const t of extra) if (typeof t === 'number' && Number.isFinite(t)) set.add(Math.round(t * 1e4) / 1e4);
  return [...set].sort((a, b) => a - b);
}
