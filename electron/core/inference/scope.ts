// Whether the model may score an image at all. A TB score is a statement about two lungs: an image in which the
// model's own lung segmentation does not find two plausible lung fields (a blank frame, noise, a photograph, an
// icon, a rotated or cropped film) gets no score, and is refused as out of scope instead of being called "healthy".
//
// Three checks, in order:
//  1. blank: every pixel has the same value (nothing to read; the model's input would be all zeros);
//  2. noise: almost all of the image's variance is pixel-to-pixel, at the model's input resolution (a radiograph
//     is smooth at 256 pixels; random noise is not);
//  3. lung fields, from the lung map the model returns (lung_logits, argmax, largest component per side): both
//     fields present, of a plausible size together and each, compact in outline, side by side, at a plausible
//     height, and held with confidence by the model.
// The thresholds sit beyond the extremes the shipped pack (cxr-tb-v1 1.2.0) reaches on every real chest
// radiograph of the shared data sets (1,950 images, including portable ICU films with one lung largely white);
// README ("The model") lists each limit beside that extreme. `cxr eval` reports the measures and any refusal, so
// a new pack is checked against the same rule before it ships.
import type { DecodedImage } from '../imaging/types';
import type { LungMasks } from './postprocess';
import type { Letterbox } from './preprocess';

export interface LungFieldMeasures {
  /** fine-scale share of the input's variance in the image area: mean (x - 3x3 mean)^2 / variance */
  fineVariance: number;
  /** each lung's largest component as a fraction of the image area (letterbox padding left out) */
  rightArea: number;
  leftArea: number;
  /** isoperimetric quotient 4 pi A / P^2 of each field (1 for a disc, small for a ragged or scattered mask) */
  rightCompactness: number;
  leftCompactness: number;
  /** centre of each field as a fraction of the image's width and height from its top-left corner */
  rightCx: number;
  leftCx: number;
  rightCy: number;
  leftCy: number;
  /** the model's mean probability of each field's own label over the field, weighted by the fields' areas */
  confidence: number;
}

/** The limits, each with the extreme of the 1,950 real radiographs measured with the shipped pack (see above). */
export const SCOPE_LIMITS = {
  /** fineVariance at most (real: at most 0.074; noise images: 0.64 and more) */
  maxFineVariance: 0.3,
  /** each field at least this fraction of the image (real: 0.0018, a whited-out left lung) */
  minFieldArea: 0.001,
  /** both fields together (real: 0.059 to 0.480) */
  minTotalArea: 0.045,
  maxTotalArea: 0.6,
  /** one field at most (real: 0.335) */
  maxFieldArea: 0.4,
  /** each field's compactness at least (real: 0.083) */
  minCompactness: 0.06,
  /** leftCx - rightCx at least: the patient's right lung on the image's left, allowing some overlap (real: -0.045) */
  minSideSeparation: -0.1,
  /** both centres at least this far down from the top (real: 0.176) */
  minCentreHeight: 0.1,
  /** the two centres' heights differ by at most (real: 0.280) */
  maxHeightDifference: 0.35,
  /** confidence at least (real: 0.755) */
  minConfidence: 0.7,
} as const;

export type ScopeVerdict = { inScope: true; measures: LungFieldMeasures } | { inScope: false; measures: LungFieldMeasures | null; reasons: string[] };

/** Fine-scale share of the variance of the model's input over the image area (the letterbox padding left out). */
export function fineVariance(input: Float32Array, g: Letterbox): number {
  const S = g.size;
  let sum = 0;
  let n = 0;
  for (let y = g.padY + 1; y < g.padY + g.newH - 1; y++) for (let x = g.padX + 1; x < g.padX + g.newW - 1; x++) sum += input[y * S + x], n++;
  if (n === 0) return 0;
  const mean = sum / n;
  let variance = 0;
  let fine = 0;
  for (let y = g.padY + 1; y < g.padY + g.newH - 1; y++) {
    for (let x = g.padX + 1; x < g.padX + g.newW - 1; x++) {
      const c = input[y * S + x];
      let box = 0;
      for (let dy = -S; dy <= S; dy += S) box += input[y * S + x + dy - 1] + input[y * S + x + dy] + input[y * S + x + dy + 1];
      variance += (c - mean) ** 2;
      fine += (c - box / 9) ** 2;
    }
  }
  return variance > 0 ? fine / variance : 0;
}

/**
 * The lung-field measures of one reading: `labels` and `masks` are the letterbox-resolution lung map and its largest
 * components (postprocess.lungLabelMap / lungMasks), `logits` the model's lung_logits [nCls, L, L].
 */
export function measureLungFields(
  input: Float32Array,
  logits: Float32Array,
  nCls: number,
  L: number,
  masks: LungMasks,
  g: Letterbox,
  rightLabel = 1,
  leftLabel = 2,
): LungFieldMeasures {
  const S = masks.size;
  const LL = L * L;
  const imageArea = Math.max(1, g.newW * g.newH);
  const field = (m: Uint8Array, label: number) => {
    let n = 0;
    let perimeter = 0;
    let sx = 0;
    let sy = 0;
    let prob = 0;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const i = y * S + x;
        if (!m[i]) continue;
        n++;
        sx += x;
        sy += y;
        if (x === 0 || !m[i - 1]) perimeter++;
        if (x === S - 1 || !m[i + 1]) perimeter++;
        if (y === 0 || !m[i - S]) perimeter++;
        if (y === S - 1 || !m[i + S]) perimeter++;
        // the label's softmax probability at the logit cell under this pixel
        const c = Math.min(L - 1, Math.floor((y * L) / S)) * L + Math.min(L - 1, Math.floor((x * L) / S));
        let max = -Infinity;
        for (let k = 0; k < nCls; k++) max = Math.max(max, logits[k * LL + c]);
        let total = 0;
        for (let k = 0; k < nCls; k++) total += Math.exp(logits[k * LL + c] - max);
        prob += Math.exp(logits[label * LL + c] - max) / total;
      }
    }
    return {
      area: n / imageArea,
      compactness: n ? (4 * Math.PI * n) / (perimeter * perimeter) : 0,
      cx: n ? (sx / n + 0.5 - g.padX) / g.newW : 0,
      cy: n ? (sy / n + 0.5 - g.padY) / g.newH : 0,
      prob,
      n,
    };
  };
  const r = field(masks.right, rightLabel);
  const l = field(masks.left, leftLabel);
  return {
    fineVariance: fineVariance(input, g),
    rightArea: r.area,
    leftArea: l.area,
    rightCompactness: r.compactness,
    leftCompactness: l.compactness,
    rightCx: r.cx,
    leftCx: l.cx,
    rightCy: r.cy,
    leftCy: l.cy,
    confidence: r.n + l.n ? (r.prob + l.prob) / (r.n + l.n) : 0,
  };
}

const pct = (v: number) => `${(100 * v).toFixed(v < 0.01 ? 2 : 1)}%`;

/** The reasons an image is out of scope for the model (empty when it may be scored). */
export function lungFieldReasons(m: LungFieldMeasures): string[] {
  const L = SCOPE_LIMITS;
  if (m.fineVariance > L.maxFineVariance) return ['the image is noise: nearly all of its variation is from pixel to pixel, with no anatomy in it'];
  const reasons: string[] = [];
  const fields = [
    ['right', m.rightArea, m.rightCompactness],
    ['left', m.leftArea, m.leftCompactness],
  ] as const;
  for (const [side, area] of fields) if (area < L.minFieldArea) reasons.push(`no ${side} lung field (it covers ${pct(area)} of the image)`);
  if (reasons.length) return reasons;
  const total = m.rightArea + m.leftArea;
  if (total < L.minTotalArea) reasons.push(`the lung fields together cover only ${pct(total)} of the image`);
  if (total > L.maxTotalArea) reasons.push(`the "lung fields" cover ${pct(total)} of the image`);
  for (const [side, area, compactness] of fields) {
    if (area > L.maxFieldArea) reasons.push(`the ${side} "lung field" covers ${pct(area)} of the image`);
    if (compactness < L.minCompactness) reasons.push(`the ${side} lung field is scattered, not one outline`);
  }
  if (m.leftCx - m.rightCx < L.minSideSeparation) reasons.push('the two lung fields are not side by side as in a frontal view');
  if (Math.min(m.rightCy, m.leftCy) < L.minCentreHeight) reasons.push('a lung field sits at the very top of the image');
  if (Math.abs(m.rightCy - m.leftCy) > L.maxHeightDifference) reasons.push('the two lung fields are at very different heights');
  if (m.confidence < L.minConfidence) reasons.push(`the model is unsure of the lung fields (${pct(m.confidence)} on average)`);
  return reasons;
}

/** The verdict on one reading: blank images first (the model's measures of them mean nothing), then the measures. */
export function scopeVerdict(decoded: Pick<DecodedImage, 'minPixel' | 'maxPixel'>, measures: LungFieldMeasures): ScopeVerdict {
  if (decoded.minPixel === decoded.maxPixel) return { inScope: false, measures: null, reasons: [`the image is blank: every pixel has the value ${decoded.minPixel}`] };
  const reasons = lungFieldReasons(measures);
  return reasons.length ? { inScope: false, measures, reasons } : { inScope: true, measures };
}

/** The message of OUT_OF_SCOPE for a verdict that refuses. */
export function outOfScopeMessage(reasons: string[]): string {
  return `The model finds no two plausible lung fields in this image (${reasons.join('; ')}): it does not look like a frontal chest radiograph, so it gets no TB score. A radiologist can still read the image itself.`;
}
