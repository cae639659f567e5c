// `cxr analyze` and `cxr eval`: the model on files and on data-set manifests, one JSON line per result.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toErrorInfo } from '../core/errors';
import { analyzeFile, createAnalyzer, loadModelPack, type Analyzer, type EpRequest } from '../core/inference/index';
import { evaluateManifest } from '../core/evaluation/index';
import { isFlagged } from '../core/triage/index';

type Out = { log(line: string): void; err(line: string): void };

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_MODEL_DIR = path.join(REPO_ROOT, 'models', 'packs', 'cxr-tb-v1');

const ANALYZE_USAGE = 'Usage: cxr analyze FILE... --json [--model DIR] [--ep auto|cpu|cuda|dml] [--threads N]';
const EVAL_USAGE = 'Usage: cxr eval --manifest FILE [--manifest FILE...] [--source NAME...] [--split test|val|train|all] [--split-rule pack|manifest] [--limit N] --json [--model DIR] [--ep auto|cpu|cuda|dml]\n  --source NAME  score only that source (the manifest folder name, e.g. shenzhen); with --source the default split is all';

export function parse(args: string[], extra: ParseArgsConfig['options'], out: Out, usage: string): { values: Record<string, unknown>; positionals: string[] } | null {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        model: { type: 'string' },
        ep: { type: 'string' },
        threads: { type: 'string' },
        help: { type: 'boolean', default: false },
        ...extra,
      },
    });
  } catch (e) {
    out.err(`cxr: ${(e as Error).message}\n${usage}`);
    return null;
  }
}

export async function openAnalyzer(values: Record<string, unknown>, out: Out): Promise<Analyzer | null> {
  const ep = (values.ep as string | undefined) ?? 'cpu';
  if (!['auto', 'cpu', 'cuda', 'dml'].includes(ep)) {
    out.err(`cxr: --ep must be auto, cpu, cuda or dml (got ${ep})`);
    return null;
  }
  const threads = values.threads ? Number(values.threads) : undefined;
  try {
    const pack = await loadModelPack((values.model as string | undefined) ?? DEFAULT_MODEL_DIR, { threads });
    const a = await createAnalyzer(pack, { ep: ep as EpRequest, threads });
    if (a.epFallbackReason) out.err(`cxr: running on the CPU: ${a.epFallbackReason}`);
    return a;
  } catch (e) {
    const error = toErrorInfo(e);
    if (values.json) out.log(JSON.stringify({ error }));
    else out.err(`cxr: ${error.code}: ${error.message}`);
    return null;
  }
}

/** cxr analyze FILE... — one line per file; exit code 1 when any file failed, 2 for usage or model errors. */
export async function runAnalyze(args: string[], out: Out): Promise<number> {
  const p = parse(args, {}, out, ANALYZE_USAGE);
  if (!p) return 2;
  if (p.values.help) {
    out.log(ANALYZE_USAGE);
    return 0;
  }
  if (!p.positionals.length) {
    out.err(`cxr analyze: no files given\n${ANALYZE_USAGE}`);
    return 2;
  }
  const analyzer = await openAnalyzer(p.values, out);
  if (!analyzer) return 2;
  let failed = 0;
  try {
    for (const file of p.positionals) {
      try {
        const r = await analyzeFile(analyzer, file);
        const line = {
          file, tbScore: r.tbScore, threshold: r.threshold, probabilities: r.probabilities, label: r.label, boxes: r.boxes, candidates: r.candidates, displayScore: r.displayScore,
          lungs: r.lungs, zones: r.zones, image: r.image, timingsMs: r.timingsMs, model: r.model,
        };
        if (p.values.json) out.log(JSON.stringify(line));
        // a file read outside any station's store has no site calibration: the pack's default threshold applies
        else out.log(`${file}: TB score ${r.tbScore.toFixed(1)} (threshold ${r.threshold}) ${r.label}; ${r.boxes.length} boxes${r.candidates.length && isFlagged(r.tbScore, r.threshold) ? ` (flagged without a box: ${r.candidates.length} low-confidence regions)` : ''}; ${r.timingsMs.total} ms on ${r.model.ep}`);
      } catch (e) {
        failed++;
        const error = toErrorInfo(e);
        if (p.values.json) out.log(JSON.stringify({ file, error }));
        else out.err(`${file}: ${error.code}: ${error.message}`);
      }
    }
  } finally {
    await analyzer.release();
  }
  return failed ? 1 : 0;
}

/** cxr eval --manifest FILE... — one JSON report (all manifests pooled, and per source). */
export async function runEval(args: string[], out: Out): Promise<number> {
  const p = parse(args, {
    manifest: { type: 'string', multiple: true },
    split: { type: 'string' },
    source: { type: 'string', multiple: true },
    'split-rule': { type: 'string' },
    limit: { type: 'string' },
  }, out, EVAL_USAGE);
  if (!p) return 2;
  if (p.values.help) {
    out.log(EVAL_USAGE);
    return 0;
  }
  const manifests = [...((p.values.manifest as string[] | undefined) ?? []), ...p.positionals];
  const sources = (p.values.source as string[] | undefined) ?? [];
  const split = (p.values.split as string | undefined) ?? (sources.length ? 'all' : 'test');
  const rule = (p.values['split-rule'] as string | undefined) ?? 'pack';
  if (!manifests.length || !['test', 'val', 'train', 'all'].includes(split) || !['pack', 'manifest'].includes(rule)) {
    out.err(`cxr eval: ${!manifests.length ? 'no --manifest given' : 'bad --split or --split-rule'}\n${EVAL_USAGE}`);
    return 2;
  }
  const analyzer = await openAnalyzer(p.values, out);
  if (!analyzer) return 2;
  try {
    const report = await evaluateManifest(analyzer, manifests, {
      split: split as 'test' | 'val' | 'train' | 'all',
      sources,
      splitRule: rule as 'pack' | 'manifest',
      limit: p.values.limit ? Number(p.values.limit) : undefined,
      onProgress: p.values.json ? undefined : (d, n) => { if (d % 25 === 0 || d === n) out.err(`  ${d}/${n}`); },
    });
    out.log(p.values.json ? JSON.stringify(report) : JSON.stringify(report, null, 1));
    return report.failures.length ? 1 : 0;
  } catch (e) {
    const error = toErrorInfo(e);
    if (p.values.json) out.log(JSON.stringify({ error }));
    else out.err(`cxr eval: ${error.code}: ${error.message}`);
    return 2;
  } finally {
    await analyzer.release();
  }
}
