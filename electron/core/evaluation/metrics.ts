// Reader-study metrics on plain arrays: classification at a threshold and over thresholds (ROC AUC with ties),
// detection AP (VOC all-point at one IoU, COCO-style mean over IoU .50:.05:.95) and mask overlap (Dice, IoU).
import type { LbBox } from '../inference/postprocess';

export interface BinaryStats {
  n: number;
  nPositive: number;
  nNegative: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  accuracy: number | null;
  sensitivity: number | null;
  specificity: number | null;
}

/** Predicted positive when score ≥ threshold. */
export function binaryStats(y: readonly boolean[], scores: readonly number[], threshold: number): BinaryStats {
  let tp = 0, tn = 0, fp = 0, fn = 0;
  for (let i = 0; i < y.length; i++) {
    const p = scores[i] >= threshold;
    if (p && y[i]) tp++;
    else if (p) fp++;
    else if (y[i]) fn++;
    else tn++;
  }
  const n = y.length;
  return {
    n, nPositive: tp + fn, nNegative: tn + fp, tp, tn, fp, fn,
    accuracy: n ? (tp + tn) / n : null,
    sensitivity: tp + fn ? tp / (tp + fn) : null,
    specificity: tn + fp ? tn / (tn + fp) : null,
  };
}

/** Fraction of labels equal to the predictions. */
export function accuracy<T>(truth: T[], pred: T[]): number | null {
  if (!truth.length) return null;
  let k = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === pred[i]) k++;
  return k / truth.length;
}

/** ROC AUC as the Mann–Whitney statistic with average ranks for ties (a tie counts one half). Null without both classes. */
export function rocAuc(y: boolean[], scores: number[]): number | null {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let npos = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) if (y[i]) { npos++; sum += ranks[i]; }
  const nneg = n - npos;
  if (!npos || !nneg) return null;
  return (sum - (npos * (npos + 1)) / 2) / (npos * nneg);
}

/** A small, fast, seeded generator of uniform numbers in [0, 1) (Mulberry32): bootstrap intervals, cross-validation
 * folds and test inputs come out the same on every run and machine. */
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

/** Highest threshold whose sensitivity is ≥ target, and the specificity there (score ≥ threshold = positive). */
export function specificityAtSensitivity(y: boolean[], scores: number[], target = 0.9): { threshold: number; sensitivity: number; specificity: number } | null {
  const thr = thresholdForSensitivity(y, scores, target);
  if (thr === null || y.every(Boolean)) return null;
  const st = binaryStats(y, scores, thr);
  return { threshold: thr, sensitivity: st.sensitivity!, specificity: st.specificity! };
}

/** Highest sensitivity with specificity ≥ target: positives are scores strictly above the m-th lowest negative. */
export function sensitivityAtSpecificity(y: boolean[], scores: number[], target = 0.7): { threshold: number; sensitivity: number; specificity: number } | null {
  const pos = scores.filter((_, i) => y[i]);
  const neg = scores.filter((_, i) => !y[i]).sort((a, b) => a - b);
  if (!pos.length || !neg.length) return null;
  const m = Math.ceil(target * neg.length - 1e-12);
  if (m <= 0) return { threshold: -Infinity, sensitivity: 1, specificity: 0 };
  const cut = neg[m - 1];
  const sens = pos.filter((s) => s > cut).length / pos.length;
  const spec = neg.filter((s) => s <= cut).length / neg.length;
  const above = [...pos, ...neg].filter((s) => s > cut);
  return { threshold: above.length ? Math.min(...above) : Infinity, sensitivity: sens, specificity: spec };
}

/** A detection as the post-processing produces it (corners, score, class index). */
export type DetBox = LbBox;

export interface GtBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  cls: number;
}

export function boxIou(a: { x0: number; y0: number; x1: number; y1: number }, b: { x0: number; y0: number; x1: number; y1: number }): number {
  const iw = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const ih = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

/** Ranked true/false positives: each detection (by descending score) takes the best-overlapping unmatched
 * ground truth of its class at IoU ≥ thr (COCO's greedy matching; with VOC's rule a detection whose best match is
 * already taken is a false positive — `voc` selects that). */
function rankedMatches(dets: DetBox[][], gts: GtBox[][], thr: number, cls: number | null, voc: boolean): { tp: number[]; npos: number } {
  const sel = <T extends { cls: number }>(a: T[]) => (cls === null ? a : a.filter((b) => b.cls === cls));
  const g = gts.map(sel);
  const npos = g.reduce((s, a) => s + a.length, 0);
  const recs: { s: number; i: number; d: DetBox }[] = [];
  dets.forEach((a, i) => sel(a).forEach((d) => recs.push({ s: d.score, i, d })));
  recs.sort((a, b) => b.s - a.s);
  const used = g.map((a) => new Uint8Array(a.length));
  const tp = recs.map(({ i, d }) => {
    let best = -1;
    let bestIou = thr;
    let bestAny = -1;
    let bestAnyIou = -1;
    g[i].forEach((gt, k) => {
      const v = boxIou(d, gt);
      if (v > bestAnyIou) { bestAnyIou = v; bestAny = k; }
      if (!used[i][k] && v >= bestIou) { bestIou = v; best = k; }
    });
    if (voc) {
      if (bestAny >= 0 && bestAnyIou >= thr && !used[i][bestAny]) { used[i][bestAny] = 1; return 1; }
      return 0;
    }
    if (best >= 0) { used[i][best] = 1; return 1; }
    return 0;
  });
  return { tp, npos };
}

/** Recall and precision after each detection in score order, from its true-positive flags. */
function precisionRecall(tp: number[], npos: number): { rec: number[]; prec: number[] } {
  const rec: number[] = [];
  const prec: number[] = [];
  let ctp = 0;
  tp.forEach((t, k) => {
    ctp += t;
    rec.push(ctp / npos);
    prec.push(ctp / (k + 1));
  });
  return { rec, prec };
}

/** VOC-style AP at one IoU threshold with all-point interpolation (area under the monotone precision envelope).
 * cls null: class-agnostic. Null when there is no ground truth. */
export function averagePrecision(dets: DetBox[][], gts: GtBox[][], iouThr = 0.5, cls: number | null = null): number | null {
  const { tp, npos } = rankedMatches(dets, gts, iouThr, cls, true);
  if (!npos) return null;
  const { rec, prec } = precisionRecall(tp, npos);
  const mrec = [0, ...rec, 1];
  const mpre = [0, ...prec, 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 1; i < mrec.length; i++) if (mrec[i] !== mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
  return ap;
}

/** COCO-style AP at one IoU: greedy matching, precision envelope sampled at 101 recall points. */
export function cocoAp(dets: DetBox[][], gts: GtBox[][], iouThr: number, cls: number | null = null): number | null {
  const { tp, npos } = rankedMatches(dets, gts, iouThr, cls, false);
  if (!npos) return null;
  const { rec, prec } = precisionRecall(tp, npos);
  for (let i = prec.length - 2; i >= 0; i--) prec[i] = Math.max(prec[i], prec[i + 1]);
  let s = 0;
  for (let r = 0; r <= 100; r++) {
    const rt = r / 100;
    const k = rec.findIndex((v) => v >= rt - 1e-12);
    s += k >= 0 ? prec[k] : 0;
  }
  return s / 101;
}

/** Mean over classes with ground truth of AP@0.5 (VOC all-point). */
export function meanAp50(dets: DetBox[][], gts: GtBox[][], nClasses: number): number | null {
  const aps = Array.from({ length: nClasses }, (_, c) => averagePrecision(dets, gts, 0.5, c)).filter((v): v is number => v !== null);
  return aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : null;
}

/** COCO mAP@[.5:.95]: mean over IoU 0.50, 0.55 … 0.95 of the mean over classes with ground truth of cocoAp. */
export function cocoMap(dets: DetBox[][], gts: GtBox[][], nClasses: number): number | null {
  const per: number[] = [];
  for (let t = 0; t < 10; t++) {
    const thr = 0.5 + 0.05 * t;
    const aps = Array.from({ length: nClasses }, (_, c) => cocoAp(dets, gts, thr, c)).filter((v): v is number => v !== null);
    if (!aps.length) return null;
    per.push(aps.reduce((a, b) => a + b, 0) / aps.length);
  }
  return per.reduce((a, b) => a + b, 0) / per.length;
}

/** Dice of two masks for one label value (or any non-zero when label is omitted); null when both are empty. */
export function dice(pred: ArrayLike<number>, truth: ArrayLike<number>, label?: number): number | null {
  let a = 0, b = 0, ab = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = label === undefined ? pred[i] !== 0 : pred[i] === label;
    const t = label === undefined ? truth[i] !== 0 : truth[i] === label;
    if (p) a++;
    if (t) b++;
    if (p && t) ab++;
  }
  return a + b ? (2 * ab) / (a + b) : null;
}

export function maskIou(pred: ArrayLike<number>, truth: ArrayLike<number>, label?: number): number | null {
  let u = 0, ab = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = label === undefined ? pred[i] !== 0 : pred[i] === label;
    const t = label === undefined ? truth[i] !== 0 : truth[i] === label;
    if (p || t) u++;
    if (p && t) ab++;
  }
  return u ? ab / u : null;
}

export function mean(v: (number | null)[]): number | null {
  const x = v.filter((a): a is number => a !== null && Number.isFinite(a));
  return x.length ? x.reduce((a, b) => a + b, 0) / x.length : null;
}
