// Drift: month by month, the station's cases scored by the model (flag rate at the threshold in force, score
// quantiles) against the confirmed cases the threshold was calibrated on. A month with at least MIN_MONTH cases is
// flagged when its flag rate differs from the calibration cases' (two-proportion z-test, |z| > 2.58, p < 0.01) or
// its score distribution does (two-sample Kolmogorov–Smirnov, p < 0.01): the population or the X-ray unit may have
// changed, and the calibration should be looked at again. (The calibration cases are people who were tested, so
// they usually hold more TB than the screened population; a steady difference is expected, a change is the signal.)
import type { Database } from 'better-sqlite3';
import { scorerScores, siteCases, stationScores } from './calibration';
import { thresholdInForce, type SitePack } from './threshold';

export const MIN_MONTH = 20;

export interface Distribution {
  n: number;
  flagged: number;
  flagRate: number | null;
  /** score quantiles 10, 25, 50, 75, 90 % */
  quantiles: [number, number, number, number, number] | null;
}

export interface DriftMonth extends Distribution {
  month: string;
  /** Kolmogorov–Smirnov distance to the calibration cases' scores and its p-value */
  ks: number | null;
  ksP: number | null;
  /** z of the flag-rate difference */
  flagZ: number | null;
  warning: string | null;
}

export interface DriftReport {
  threshold: number;
  thresholdLabel: string;
  reference: Distribution;
  months: DriftMonth[];
  warnings: string[];
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function distribution(scores: readonly number[], threshold: number): Distribution {
  const s = [...scores].sort((a, b) => a - b);
  const flagged = s.filter((v) => v >= threshold).length;
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    n: s.length,
    flagged,
    flagRate: s.length ? flagged / s.length : null,
    quantiles: s.length ? [r(quantile(s, 0.1)), r(quantile(s, 0.25)), r(quantile(s, 0.5)), r(quantile(s, 0.75)), r(quantile(s, 0.9))] : null,
  };
}

/** Two-sample Kolmogorov–Smirnov distance and its asymptotic p-value. */
export function ksTest(a: readonly number[], b: readonly number[]): { d: number; p: number } | null {
  if (!a.length || !b.length) return null;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const ne = (x.length * y.length) / (x.length + y.length);
  const lambda = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * d;
  let p = 0;
  for (let k = 1; k <= 100; k++) p += 2 * (k % 2 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
  return { d, p: Math.min(1, Math.max(0, lambda < 1e-3 ? 1 : p)) };
}

/** z of the difference of two proportions (pooled standard error), or null when it is undefined. */
export function proportionZ(k1: number, n1: number, k2: number, n2: number): number | null {
  if (!n1 || !n2) return null;
  const p = (k1 + k2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return null;
  return (k1 / n1 - k2 / n2) / se;
}

export function driftReport(db: Database, pack: SitePack): DriftReport {
  const t = thresholdInForce(db, pack);
  const { cases } = siteCases(db, pack);
  const refScores = scorerScores(db, cases, t.headId);
  const reference = distribution(refScores, t.value);
  const byMonth = new Map<string, number[]>();
  for (const s of stationScores(db, pack, t.headId)) byMonth.set(s.month, [...(byMonth.get(s.month) ?? []), s.score]);
  const months: DriftMonth[] = [...byMonth.keys()].sort().map((month) => {
    const scores = byMonth.get(month)!;
    const d = distribution(scores, t.value);
    const ks = ksTest(scores, refScores);
    const z = proportionZ(d.flagged, d.n, reference.flagged, reference.n);
    let warning: string | null = null;
    if (d.n >= MIN_MONTH && reference.n > 0) {
      const why: string[] = [];
      if (z !== null && Math.abs(z) > 2.58) why.push(`flag rate ${(100 * d.flagRate!).toFixed(0)} % against ${(100 * reference.flagRate!).toFixed(0)} % in the calibration cases`);
      if (ks && ks.p < 0.01) why.push(`score distribution differs (Kolmogorov–Smirnov D = ${ks.d.toFixed(2)}, p = ${ks.p < 0.001 ? '< 0.001' : ks.p.toFixed(3)})`);
      if (why.length) warning = `${month}: ${why.join('; ')}`;
    }
    return { month, ...d, ks: ks ? Math.round(ks.d * 1000) / 1000 : null, ksP: ks ? ks.p : null, flagZ: z === null ? null : Math.round(z * 100) / 100, warning };
  });
  const warnings = months.filter((m) => m.warning).map((m) => m.warning!);
  if (!reference.n) warnings.unshift('No confirmed cases yet: there is nothing to compare the months with.');
  return { threshold: t.value, thresholdLabel: t.label, reference, months, warnings };
}
