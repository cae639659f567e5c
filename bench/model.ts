// The model on this CPU: one full analysis (decode, preprocess, inference, postprocess) in ONNX Runtime
// against the 250 ms target; the same network in PyTorch (models/training/bench_torch.py, the checkpoint the
// pack was exported from) as a ratio; and the model's FLOPs (counted from the ONNX graph) against this CPU's
// measured float32 GEMM peak (models/training/flops.py). At 2 intra-op threads (this machine's cores) and 1.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { benchInference, type InferenceBenchResult } from '../electron/core/inference/bench';
import { defaultPackDir, REPO_ROOT } from '../electron/core/inference/paths';
import { report } from './stats';

const PYTHON = process.env.CXR_BENCH_PYTHON ?? '/usr/bin/python3';
const TARGET_MS = 250;
const THREADS = [2, 1];
const ORT_RUNS = 20;
const TORCH_RUNS = 20;

interface TorchResult {
  torch_version: string;
  threads: number;
  median_ms: number;
  p95_ms: number;
  runs: number;
  parity_max_abs: number | null;
  jit: { median_ms: number; p95_ms: number; runs: number } | null;
}

interface FlopsResult {
  model_gflops: number;
  by_op: Record<string, number>;
  elementwise_gflops: number;
  peak_gflops_measured: number;
  peak_gflops_median: number;
  peak_source: string;
  peak_by_kernel: Record<string, { best_gflops: number; median_gflops: number }>;
  threads: number;
  cpu: string | null;
}

function runPython(args: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout: String(stdout), stderr: err && !stderr ? String(err.message) : String(stderr) }),
    );
  });
}

/** Runs a script that prints one JSON line; null (with a printed reason) when it fails. */
async function pyJson<T>(script: string, args: string[], timeoutMs = 180_000): Promise<T | null> {
  const r = await runPython([path.join(REPO_ROOT, 'models', 'training', script), ...args], timeoutMs);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!r.ok || !line) {
    console.log(`  ${script} ${args.join(' ')}: failed — ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return null;
  }
  return JSON.parse(line) as T;
}

async function pythonHasTorch(): Promise<string | null> {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = await runPython(['-c', 'import torch, onnx, numpy; print(torch.__version__)'], 60_000);
  return r.ok ? null : `${PYTHON} cannot import torch/onnx/numpy (${r.stderr.trim().split('\n').pop()})`;
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const line = (label: string, value: string) => console.log(`  ${label.padEnd(48)} ${value}`);

export async function benchModel(): Promise<void> {
  const packDir = defaultPackDir();
  console.log(`\nmodel: ${path.relative(REPO_ROOT, packDir)} — ONNX Runtime (onnxruntime-node, CPU) vs PyTorch, FLOPs vs measured peak`);

  // 1. ONNX Runtime: full analysis, per stage (medians from benchInference; it does not return p95).
  const ort = new Map<number, InferenceBenchResult>();
  for (const threads of THREADS) {
    const r = await benchInference({ modelDir: packDir, runs: ORT_RUNS, ep: 'cpu', threads, log: () => {} });
    if (!r) {
      await benchInference({ modelDir: packDir, runs: 1, log: (s) => console.log(s) }); // prints why it skipped
      return;
    }
    ort.set(threads, r);
  }
  const any = ort.get(THREADS[0])!;
  console.log(`  image ${path.basename(any.file)}, ${any.model}, ${ORT_RUNS} runs after 2 warm-up (p95 n/a: benchInference returns medians)`);
  report(
    'full analysis of one image (ONNX Runtime, CPU)',
    THREADS.flatMap((t) => {
      const m = ort.get(t)!.medianMs;
      return [[`total, ${t} thread${t > 1 ? 's' : ''}`, m.total, NaN] as [string, number, number]];
    }),
    TARGET_MS,
  );
  report(
    'full analysis, per stage (medians)',
    THREADS.flatMap((t) => {
      const m = ort.get(t)!.medianMs;
      return (['decode', 'preprocess', 'inference', 'postprocess'] as const).map((k) => [`${k}, ${t} thr`, m[k], NaN] as [string, number, number]);
    }),
  );

  // 2. PyTorch and FLOPs (Python); skipped with a message where torch is missing.
  const missing = await pythonHasTorch();
  if (missing) {
    console.log(`\nmodel: PyTorch comparison and FLOPs skipped — ${missing}`);
    return;
  }
  const torch = new Map<number, TorchResult>();
  const flops = new Map<number, FlopsResult>();
  for (const t of THREADS) {
    const tr = await pyJson<TorchResult>('bench_torch.py', ['--threads', String(t), '--runs', String(TORCH_RUNS), '--warmup', '2', '--budget-s', '15']);
    if (tr) torch.set(t, tr);
    const fr = await pyJson<FlopsResult>('flops.py', ['--threads', String(t), '--runs', '5']);
    if (fr) flops.set(t, fr);
  }

  const rows: [string, number, number][] = [];
  for (const t of THREADS) {
    rows.push([`ONNX Runtime, ${t} thr (median only)`, ort.get(t)!.medianMs.inference, NaN]);
    const tr = torch.get(t);
    if (tr) {
      rows.push([`PyTorch ${tr.torch_version} eager, ${t} thr (${tr.runs} runs)`, tr.median_ms, tr.p95_ms]);
      if (tr.jit) rows.push([`PyTorch jit.trace+freeze, ${t} thr (${tr.jit.runs} runs)`, tr.jit.median_ms, tr.jit.p95_ms]);
    }
  }
  report('inference only, [1,1,256,256] forward pass', rows);
  console.log('\n  ratio PyTorch / ONNX Runtime (inference medians; > 1 = ONNX Runtime faster)');
  for (const t of THREADS) {
    const tr = torch.get(t);
    const o = ort.get(t)!.medianMs.inference;
    if (!tr) {
      line(`${t} thr`, 'n/a (bench_torch.py failed)');
      continue;
    }
    line(`${t} thr, eager`, `${fmt(tr.median_ms / o)}x`);
    if (tr.jit) line(`${t} thr, jit.trace+freeze`, `${fmt(tr.jit.median_ms / o)}x`);
  }
  const par = [...torch.values()][0]?.parity_max_abs;
  if (par !== undefined) line('PyTorch weights vs pack parity fixture', par === null ? 'no fixture' : `max |diff| ${par.toExponential(2)}`);

  const f = flops.get(THREADS[0]) ?? [...flops.values()][0];
  if (!f) return;
  console.log(`\n  FLOPs (from the ONNX graph, batch 1; MAC = 2 FLOPs; Conv/Gemm/MatMul only, elementwise separate)`);
  line('model', `${fmt(f.model_gflops, 3)} GFLOPs  (${Object.entries(f.by_op).map(([k, v]) => `${k} ${v}`).join(', ')}; elementwise ${f.elementwise_gflops})`);
  console.log(`\n  FLOPs against this CPU's measured float32 GEMM peak (${f.cpu ?? 'cpu'}; peak = best of ${Object.keys(f.peak_by_kernel).join(', ')})`);
  for (const t of THREADS) {
    const p = flops.get(t);
    const o = ort.get(t)!.medianMs.inference;
    if (!p) continue;
    const kernels = Object.entries(p.peak_by_kernel).map(([k, v]) => `${k} ${v.best_gflops}/${v.median_gflops}`).join(', ');
    line(`${t} thr: measured peak (best/median)`, `${fmt(p.peak_gflops_measured, 1)} / ${fmt(p.peak_gflops_median, 1)} GFLOP/s  [${kernels}]`);
    const ortAch = p.model_gflops / (o / 1000);
    line(`${t} thr: ONNX Runtime achieved`, `${fmt(ortAch, 1)} GFLOP/s = ${fmt(ortAch / p.peak_gflops_measured, 3)} of peak`);
    const tr = torch.get(t);
    if (tr) {
      const ach = p.model_gflops / (tr.median_ms / 1000);
      line(`${t} thr: PyTorch eager achieved`, `${fmt(ach, 1)} GFLOP/s = ${fmt(ach / p.peak_gflops_measured, 3)} of peak`);
    }
  }
}
