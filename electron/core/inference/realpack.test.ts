// The shipped pack (models/packs/cxr-tb-v1), when it exists: parity with its own PyTorch fixture, and two
// held-out images picked programmatically (the first TB-positive TBX11K test row with boxes, the first normal
// Shenzhen test row — split rule as in training). Skipped, saying so, while the pack has not been built.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModelPack, createAnalyzer, analyzeFile, analyzeDetailed, decodeFile, defaultPackDir, type Analyzer, type AnalysisResult } from './index';
import { readManifest } from '../evaluation/index';
import { boxIou } from '../evaluation/metrics';
import { readParityIndex, readArray } from './testPack';
import { REPO_ROOT } from './paths';
import { preprocessUnit } from './preprocess';

// CXR_TEST_PACK points the test at another pack folder (e.g. a provisional export) without touching models/packs.
const PACK = process.env.CXR_TEST_PACK || defaultPackDir();
const DATA = path.resolve(REPO_ROOT, '..', 'shared', 'datasets');
const skip = fs.existsSync(path.join(PACK, 'manifest.json')) ? false : `no model pack at ${PACK} yet (built by models/training/pipeline.sh)`;
let analyzer: Analyzer;

// Known results of a particular pack, keyed by its model sha256, so that a new export is held to the full checks
// again. cxr-tb-v1 1.0.0 (2026-11-28): its operating point (TB score 0.42 of 100, chosen for ≥ 90 % val sensitivity)
// flags the first normal Shenzhen test image (score 0.80, p(healthy) 0.98), and its strongest TB box on the first
// TBX11K test image scores 0.18 < the manifest's display score 0.3, so no box is shown (the box does overlap the
// lesion: IoU 0.66). Reported to the model owner; the tests run and print, reported as TODO, not hidden.
const KNOWN: Record<string, { tbBoxShown?: string; normalBelow?: string }> = {
  b86f57eac8ef970f5a252f65136316d1cda6c26d1122fbe0ed475e9dc1a61344: {
    tbBoxShown: 'cxr-tb-v1 1.0.0 (ft_uniform): no box on this test image reaches the display score 0.3; the display score is to be calibrated on val (issue 3), not lowered to pass a test image',
  },
  'e2d733cd71f946f63226f05c4a2516338dbde124be9be851cb0196913f226ec3': {
    tbBoxShown: 'cxr-tb-v1 1.0.0: no box reaches the display score 0.3 (best 0.18, IoU 0.66) — display threshold to be lowered by the model owner',
    normalBelow: 'cxr-tb-v1 1.0.0: operating point 0.42 flags this normal image (score 0.80) — threshold to be recalibrated by the model owner',
  },
};
const known = () => (skip ? {} : KNOWN[JSON.parse(fs.readFileSync(path.join(PACK, 'manifest.json'), 'utf8')).model_sha256] ?? {});

before(async () => {
  if (skip) return;
  analyzer = await createAnalyzer(await loadModelPack(PACK, { threads: 1 }), { ep: 'cpu' });
});

test('real pack: loads, isValid, ONNX Runtime matches its PyTorch parity fixture', { skip }, async () => {
  const info = analyzer.pack.info();
  console.log(`  pack ${info.name} ${info.version}: ${(info.bytes / 1e6).toFixed(2)} MB, input ${info.inputSize}, threshold ${info.tbScoreThreshold}`);
  assert.equal(analyzer.pack.isValid(), true);
  if (!info.parityFixture) return void console.log('  (no parity fixture in the pack)');
  const pdir = path.dirname(info.parityFixture);
  const idx = readParityIndex(info.parityFixture);
  const { outputs_abs: tabs, outputs_rel: trel } = idx.tolerance;
  for (const s of idx.samples) {
    const raw = readArray(pdir, s.raw) as Uint8Array | Uint16Array;
    const den = s.raw.dtype === 'uint8' ? 255 : 65535;
    const { input } = preprocessUnit(Float64Array.from(raw, (v) => v / den), s.raw.shape[1], s.raw.shape[0], idx.input_size);
    const ref = readArray(pdir, s.input) as Float32Array;
    let dp = 0;
    for (let i = 0; i < ref.length; i++) dp = Math.max(dp, Math.abs(ref[i] - input[i]));
    console.log(`  real-pack preprocess parity ${s.id}: max |diff| = ${dp.toExponential(3)}`);
    assert.ok(dp <= idx.tolerance.input_abs);
    const out = await analyzer.run(input);
    for (const [name, a] of Object.entries(s.outputs)) {
      const ref = readArray(pdir, a) as Float32Array;
      let d = 0;
      let worst = 0;
      for (let i = 0; i < ref.length; i++) {
        const e = Math.abs(ref[i] - out[name].data[i]);
        d = Math.max(d, e);
        worst = Math.max(worst, e / (tabs + trel * Math.abs(ref[i])));
      }
      console.log(`  real-pack onnx parity ${s.id} ${name}: max |diff| = ${d.toExponential(3)}`);
      assert.ok(worst <= 1, `${s.id} ${name}: ${d}`);
    }
  }
});

function describe(r: AnalysisResult): string {
  return `tbScore ${r.tbScore.toFixed(2)} (threshold ${r.threshold}), label ${r.label}, ${r.boxes.length} boxes, ${r.timingsMs.total} ms`;
}

async function firstTb() {
  const rows = readManifest(path.join(DATA, 'tbx11k', 'manifest.jsonl')).filter((r) => r._split === 'test' && r.label === 'tb' && (r.boxes ?? []).length);
  assert.ok(rows.length, 'no TB test rows with boxes');
  return rows[0];
}

function bestIou(r: AnalysisResult, gts: { x0: number; y0: number; x1: number; y1: number }[], n = Infinity): number {
  return Math.max(0, ...r.boxes.slice(0, n).flatMap((b) => gts.map((g) => boxIou({ x0: b.x, y0: b.y, x1: b.x + b.w, y1: b.y + b.h }, g))));
}

test('real pack: the first TB-positive TBX11K test image scores above the threshold; its top candidate box is on the lesion', { skip }, async () => {
  const row = await firstTb();
  const { decoded, ms } = await decodeFile(row._path);
  const { result: r } = await analyzeDetailed(analyzer, decoded, ms, { minBoxScore: 0.05 });
  const top = bestIou(r, row.boxes!, 1);
  console.log(`  ${row.id}: ${describe(r)}; top candidate box (score ${r.boxes[0]?.score}) IoU with ground truth ${top.toFixed(3)}; zone ${JSON.stringify(r.zones[0] ?? null)}`);
  assert.ok(r.tbScore >= r.threshold, `${row.id} scored ${r.tbScore} < ${r.threshold}`);
  assert.ok(top > 0, `${row.id}: the top-scoring candidate box does not overlap the ground truth`);
});

test('real pack: on that image a box is shown (display score) overlapping the ground truth', { skip, todo: known().tbBoxShown }, async () => {
  const row = await firstTb();
  const r = await analyzeFile(analyzer, row._path);
  const best = bestIou(r, row.boxes!);
  console.log(`  ${row.id}: ${r.boxes.length} boxes at display score ${analyzer.pack.info().displayScore}; best IoU ${best.toFixed(3)}`);
  assert.ok(best > 0, `${row.id}: no displayed box overlaps the ground truth`);
});

test('real pack: the first normal Shenzhen test image scores below the threshold', { skip, todo: known().normalBelow }, async () => {
  const rows = readManifest(path.join(DATA, 'shenzhen', 'manifest.jsonl')).filter((r) => r._split === 'test' && r.label === 'normal');
  assert.ok(rows.length, 'no normal Shenzhen test rows');
  const r = await analyzeFile(analyzer, rows[0]._path);
  console.log(`  ${rows[0].id}: ${describe(r)}; lungs R ${r.lungs.right.length} / L ${r.lungs.left.length} vertices`);
  assert.ok(r.lungs.right.length >= 3 && r.lungs.left.length >= 3, 'lung outlines missing');
  assert.ok(r.tbScore < r.threshold, `${rows[0].id} scored ${r.tbScore} ≥ ${r.threshold}`);
});
