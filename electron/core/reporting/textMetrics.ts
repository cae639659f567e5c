// Text similarity between generated reports and reference readings: corpus BLEU (Papineni et al. 2002: clipped
// n-gram precision summed over the corpus, geometric mean, brevity penalty against the closest reference length) and
// ROUGE-L (Lin 2004: longest common subsequence F-measure, beta 1.2 as in the COCO caption evaluation, best
// reference per hypothesis, averaged over hypotheses). Tokenisation is stated with every number: lower case, words
// are runs of letters and digits, punctuation dropped.

/** Lower-case word tokens: runs of letters or digits; everything else separates words and is dropped. */
export function tokenizeForMetrics(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export const METRIC_TOKENISATION = 'lower case; tokens are runs of letters/digits (Unicode); punctuation dropped';

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const k = tokens.slice(i, i + n).join('\u0001');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

export interface BleuResult {
  /** BLEU with uniform weights over 1..maxN grams, 0..1 */
  bleu: number;
  /** modified n-gram precisions, n = 1..maxN */
  precisions: number[];
  brevityPenalty: number;
  hypothesisLength: number;
  referenceLength: number;
}

/**
 * Corpus BLEU. `hypotheses[i]` is scored against `references[i]` (one or more token lists). No smoothing: a corpus
 * with no matching n-gram of some order scores 0, as in the original definition.
 */
export function bleu(hypotheses: readonly (readonly string[])[], references: readonly (readonly (readonly string[])[])[], maxN = 4): BleuResult {
  if (hypotheses.length !== references.length) throw new Error(`bleu: ${hypotheses.length} hypotheses but ${references.length} reference sets`);
  const matched = new Array<number>(maxN).fill(0);
  const total = new Array<number>(maxN).fill(0);
  let c = 0;
  let r = 0;
  hypotheses.forEach((hyp, i) => {
    const refs = references[i];
    if (!refs.length) throw new Error(`bleu: hypothesis ${i} has no reference`);
    c += hyp.length;
    // the reference length closest to the hypothesis's (the shorter on a tie)
    let best = refs[0].length;
    for (const ref of refs) {
      const d = Math.abs(ref.length - hyp.length);
      const bd = Math.abs(best - hyp.length);
      if (d < bd || (d === bd && ref.length < best)) best = ref.length;
    }
    r += best;
    for (let n = 1; n <= maxN; n++) {
      const h = ngramCounts(hyp, n);
      const maxRef = new Map<string, number>();
      for (const ref of refs) for (const [k, v] of ngramCounts(ref, n)) maxRef.set(k, Math.max(maxRef.get(k) ?? 0, v));
      for (const [k, v] of h) matched[n - 1] += Math.min(v, maxRef.get(k) ?? 0);
      total[n - 1] += Math.max(0, hyp.length - n + 1);
    }
  });
  const precisions = matched.map((m, k) => (total[k] ? m / total[k] : 0));
  const brevityPenalty = c === 0 ? 0 : c >= r ? 1 : Math.exp(1 - r / c);
  const score = precisions.some((p) => p === 0) ? 0 : brevityPenalty * Math.exp(precisions.reduce((a, p) => a + Math.log(p), 0) / maxN);
  return { bleu: score, precisions, brevityPenalty, hypothesisLength: c, referenceLength: r };
}

/** Length of the longest common subsequence of two token lists. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (!a.length || !b.length) return 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    prev = cur;
  }
  return prev[b.length];
}

/** ROUGE-L F-measure of one hypothesis against its references (the best precision and recall over them, as COCO). */
export function rougeLSentence(hyp: readonly string[], refs: readonly (readonly string[])[], beta = 1.2): number {
  let p = 0;
  let r = 0;
  for (const ref of refs) {
    const l = lcsLength(hyp, ref);
    if (hyp.length) p = Math.max(p, l / hyp.length);
    if (ref.length) r = Math.max(r, l / ref.length);
  }
  if (p === 0 || r === 0) return 0;
  return ((1 + beta * beta) * p * r) / (r + beta * beta * p);
}

/** Mean ROUGE-L F over a corpus. */
export function rougeL(hypotheses: readonly (readonly string[])[], references: readonly (readonly (readonly string[])[])[], beta = 1.2): number {
  if (hypotheses.length !== references.length) throw new Error(`rougeL: ${hypotheses.length} hypotheses but ${references.length} reference sets`);
  if (!hypotheses.length) return 0;
  return hypotheses.reduce((a, h, i) => a + rougeLSentence(h, references[i], beta), 0) / hypotheses.length;
}
