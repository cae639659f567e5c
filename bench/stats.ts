// Small helpers for benchmarks: repeated timing, medians, percentiles and a printed table with the target.

export async function time(fn: () => unknown, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const idx = (p / 100) * (s.length - 1);
  const lo = Math.floor(idx);
  const hi = Math.ceil(idx);
  return s[lo] + (s[hi] - s[lo]) * (idx - lo);
}

/** Print rows of [label, median ms, p95 ms] against a target in ms. */
export function report(title: string, rows: [string, number, number][], targetMs?: number): void {
  console.log(`\n${title}${targetMs !== undefined ? ` — target: median <= ${targetMs} ms` : ''}`);
  for (const [label, med, p95] of rows) {
    const verdict = targetMs === undefined ? '' : med <= targetMs ? '  ok' : '  OVER TARGET';
    // NaN p95: the measurement keeps only a median (said in the benchmark's header).
    const p95Text = Number.isNaN(p95) ? '       –   ' : `${p95.toFixed(2).padStart(8)} ms`;
    console.log(`  ${label.padEnd(48)} median ${med.toFixed(2).padStart(8)} ms   p95 ${p95Text}${verdict}`);
  }
}
