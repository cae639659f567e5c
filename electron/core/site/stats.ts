// The statistics of a site calibration, on plain arrays (score ≥ threshold = flagged): the ROC curve, the AUC with a
// stratified bootstrap interval, the paired interval of the difference of two AUCs on the same cases, the threshold
// table (sensitivity, specificity, PPV, NPV, flagged per 100, each with its counts) and the threshold that keeps a
// wanted sensitivity. Everything random comes from a seeded generator, so the same cases give the same numbers.
import { rocAuc } from '../evaluation/metrics';

/** A small, fast, seeded generator of uniform numbers in [0, 1) (Mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

export interface Interval {
  /** the point estimate on the cases as they are */
  value: number;
  low: number;
  high: number;
}

export interface BootstrapOptions {
  replicates?: number;
  seed?: number;
  /** coverage of the interval (default 0.95) */
  level?: number;
}

export const BOOTSTRAP_REPLICATES = 2000;
export const BOOTSTRAP_SEED = 20240601;

function percentile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * AUC of each set of scores under many stratified resamplings of the cases (positives and negatives are resampled
 * separately, so every replicate keeps the counts): for each positive, where it falls among the sorted negatives is
 * found once, so a replicate costs one pass over the cases.
 */
function bootstrapAucs(y: readonly boolean[], scoreSets: readonly (readonly number[])[], opts: BootstrapOptions): Float64Array[] {
  const B = opts.replicates ?? BOOTSTRAP_REPLICATES;
  const rand = seededRandom(opts.seed ?? BOOTSTRAP_SEED);
  const pos: number[] = [];
  const neg: number[] = [];
  y.forEach((v, i) => (v ? pos : neg).push(i));
  const P = pos.length;
  const N = neg.length;
  // Per score set: negatives sorted, and for each positive the range of sorted negatives below it and equal to it.
  const prepared = scoreSets.map((s) => {
    const negOrder = [...neg].sort((a, b) => s[a] - s[b]);
    const sortedNeg = negOrder.map((i) => s[i]);
    const lower = new Int32Array(P);
    const upper = new Int32Array(P);
    pos.forEach((pi, k) => {
      lower[k] = lowerBound(sortedNeg, s[pi]);
      upper[k] = upperBound(sortedNeg, s[pi]);
    });
    // rank of each original negative in the sorted order
    const posInNeg = new Map(neg.map((ni, j) => [ni, j]));
    const rankOfNeg = new Int32Array(N);
    negOrder.forEach((ni, r) => (rankOfNeg[posInNeg.get(ni)!] = r));
    return { lower, upper, rankOfNeg };
  });
  const out = scoreSets.map(() => new Float64Array(B));
  const posCount = new Int32Array(P);
  const negCount = new Int32Array(N);
  const cum = new Int32Array(N + 1);
  const denom = P * N;
  for (let b = 0; b < B; b++) {
    posCount.fill(0);
    negCount.fill(0);
    for (let k = 0; k < P; k++) posCount[Math.floor(rand() * P)]++;
    for (let k = 0; k < N; k++) negCount[Math.floor(rand() * N)]++;
    prepared.forEach((p, si) => {
      cum.fill(0);
      for (let j = 0; j < N; j++) cum[p.rankOfNeg[j] + 1] += negCount[j];
      for (let r = 0; r < N; r++) cum[r + 1] += cum[r];
      let sum = 0;
      for (let k = 0; k < P; k++) {
        if (!posCount[k]) continue;
        const below = cum[p.lower[k]];
        const equal = cum[p.upper[k]] - below;
        sum += posCount[k] * (below + 0.5 * equal);
      }
      out[si][b] = sum / denom;
    });
  }
  return out;
}

function lowerBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The AUC (Mann–Whitney, ties count one half) with its stratified bootstrap percentile interval; null without both classes. */
export function aucWithInterval(y: readonly boolean[], scores: readonly number[], opts: BootstrapOptions = {}): Interval | null {
  const value = rocAuc([...y], [...scores]);
  if (value === null) return null;
  const reps = bootstrapAucs(y, [scores], opts)[0].sort();
  const alpha = (1 - (opts.level ?? 0.95)) / 2;
  return { value, low: percentile(reps, alpha), high: percentile(reps, 1 - alpha) };
}

/**
 * AUC(b) − AUC(a) on the same cases, with the interval of that difference from the same resamplings (a paired
 * bootstrap: each replicate draws one set of cases and scores both). Null without both classes.
 */
export function aucDifference(y: readonly boolean[], a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): Interval | null {
  const aa = rocAuc([...y], [...a]);
  const bb = rocAuc([...y], [...b]);
  if (aa === null || bb === null) return null;
  const [ra, rb] = bootstrapAucs(y, [a, b], opts);
  const d = new Float64Array(ra.length);
  for (let i = 0; i < d.length; i++) d[i] = rb[i] - ra[i];
  d.sort();
  const alpha = (1 - (opts.level ?? 0.95)) / 2;
  return { value: bb - aa, low: percentile(d, alpha), high: percentile(d, 1 - alpha) };
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
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < y.length; i++) {
    const flagged = scores[i] >= threshold;
    if (flagged && y[i]) tp++;
    else if (flagged) fp++;
    else if (y[i]) fn++;
    else tn++;
  }
  const div = (a: number, b: number) => (b ? a / b : null);
  return {
    threshold, tp, fp, tn, fn,
    sensitivity: div(tp, tp + fn),
    specificity: div(tn, tn + fp),
    ppv: div(tp, tp + fp),
    npv: div(tn, tn + fn),
    flaggedPer100: y.length ? (100 * (tp + fp)) / y.length : null,
  };
}

/**
 * The highest threshold whose sensitivity is at least `target` (it flags the fewest cases that keep it): the k-th
 * highest score of a positive, k = ⌈target · positives⌉. Null without positives.
 */
export function thresholdForSensitivity(y: readonly boolean[], scores: readonly number[], target: number): number | null {
  const pos = scores.filter((_, i) => y[i]).sort((a, b) => b - a);
  if (!pos.length) return null;
  const k = Math.min(pos.length, Math.max(1, Math.ceil(target * pos.length - 1e-9)));
  return pos[k - 1];
}

/** The thresholds a threshold table lists: every 5 points of the 0–100 scale, and the ones that matter here. */
export function tableThresholds(extra: readonly (number | null | undefined)[]): number[] {
  const set = new Set<number>();
  for (let t = 5; t <= 95; t += 5) set.add(t);
  for (const t of extra) if (typeof t === 'number' && Number.isFinite(t)) set.add(Math.round(t * 1e4) / 1e4);
  return [...set].sort((a, b) => a - b);
}
