// Benchmark (not a test): median time of one full analysis — read+decode, preprocess, inference, postprocess —
// over ~20 runs of one chest X-ray, and per stage. `npm run bench` calls benchInference().
import fs from 'node:fs';
import path from 'node:path';
import { analyzeDetailed, decodeFile } from './analyze';
import { createAnalyzer, loadModelPack, type EpRequest } from './pack';
import { defaultPackDir, REPO_ROOT } from './paths';

export interface InferenceBenchResult {
  file: string;
  model: string;
  ep: string;
  runs: number;
  medianMs: { total: number; decode: number; preprocess: number; inference: number; postprocess: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

/** A chest X-ray from the shared data sets (first Shenzhen row), or null when they are not here. */
function sampleImage(): string | null {
  const m = path.resolve(REPO_ROOT, '..', 'shared', 'datasets', 'shenzhen', 'manifest.jsonl');
  if (!fs.existsSync(m)) return null;
  const row = JSON.parse(fs.readFileSync(m, 'utf8').split('\n')[0]);
  const p = path.join(path.dirname(m), row.image);
  return fs.existsSync(p) ? p : null;
}

export async function benchInference(opts: { modelDir?: string; file?: string; runs?: number; ep?: EpRequest; threads?: number; log?: (s: string) => void } = {}): Promise<InferenceBenchResult | null> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const dir = opts.modelDir ?? defaultPackDir();
  const file = opts.file ?? sampleImage();
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    log(`\ninference: skipped — no model pack at ${dir}`);
    return null;
  }
  if (!file) {
    log('\ninference: skipped — no sample image (../shared/datasets/shenzhen)');
    return null;
  }
  const runs = opts.runs ?? 20;
  const analyzer = await createAnalyzer(await loadModelPack(dir, { threads: opts.threads }), { ep: opts.ep ?? 'cpu', threads: opts.threads });
  const t: Record<'total' | 'decode' | 'preprocess' | 'inference' | 'postprocess', number[]> = { total: [], decode: [], preprocess: [], inference: [], postprocess: [] };
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    const { decoded, ms } = await decodeFile(file);
    const { result } = await analyzeDetailed(analyzer, decoded, ms);
    const total = performance.now() - t0;
    if (i < 2) continue; // warm-up
    t.total.push(total);
    for (const k of ['decode', 'preprocess', 'inference', 'postprocess'] as const) t[k].push(result.timingsMs[k]);
  }
  await analyzer.release();
  const med = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(median(v) * 10) / 10])) as InferenceBenchResult['medianMs'];
  const m = analyzer.pack.info();
  log(`\ninference: ${m.name} ${m.version} on ${analyzer.ep}, ${path.basename(file)}, median of ${runs} runs`);
  for (const k of ['total', 'decode', 'preprocess', 'inference', 'postprocess'] as const) log(`  ${k.padEnd(12)} ${med[k].toFixed(1).padStart(8)} ms`);
  return { file, model: `${m.name} ${m.version}`, ep: analyzer.ep, runs, medianMs: med };
}
