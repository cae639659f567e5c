// The shipped pack (models/packs/cxr-tb-v1), when it exists: parity with its own PyTorch fixture, and held-out
// images picked by rules fixed in advance, never by looking at the results (split rule as in training):
//  - the first TB-positive TBX11K test row with boxes (manifest order): scores above the threshold, top candidate on
//    the lesion;
//  - the first 10 such rows: every result is printed; at least 2 of the 10 must score above the threshold AND show
//    (display score from the manifest, calibrated on val) a box overlapping a ground-truth box. The bound comes from
//    val, not test: for cxr-tb-v1 1.2.0 (ft_cls2) 66 of the 98 TBX11K val images meet both conditions (p = 0.67), and
//    4 is the 5th percentile of Binomial(10, 0.67) (P(fewer than 4) = 0.018). (1.0.0, ft_uniform: 42 of 98, bound 2.)
//  - the first normal Shenzhen test row scores below the threshold;
//  - the first normal Shenzhen test row with an "ok" lung mask, placed in a non-square canvas: lung outlines in
//    canvas coordinates match the ground-truth polygons shifted by the placement (letterbox undone).
// Skipped, saying so, while the pack has not been built.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModelPack, createAnalyzer, analyzeFile, analyzeDetailed, decodeFile, defaultPackDir, type Analyzer, type AnalysisResult } from './index';
import { readManifest } from '../evaluation/index';
import { boxIou } from '../evaluation/metrics';
import { rasterizePolygon, type Point } from './postprocess';
import { readParityIndex, readArray } from './testPack';
import { REPO_ROOT } from './paths';
import { preprocessUnit } from './preprocess';

// CXR_TEST_PACK points the test at another pack folder (e.g. a provisional export) without touching models/packs.
const PACK = process.env.CXR_TEST_PACK || defaultPackDir();
const DATA = path.resolve(REPO_ROOT, '..', 'shared', 'datasets');
const skip = fs.existsSync(path.join(PACK, 'manifest.json')) ? false : `no model pack at ${PACK} yet (built by npm run train)`;
let analyzer: Analyzer;

// Known results of a particular pack, keyed by its model sha256, so that a new export is held to the full checks
// again. An earlier export (e2d733cd…) flagged the first normal Shenzhen test image and showed no box; 1.0.0
// (b86f57ea…, ft_uniform), 1.1.0 (d42c90a2…, ft_cls) and the shipped 1.2.0 (7e88b5c5…, ft_cls2) have no known failure.
const KNOWN: Record<string, { tbBoxShown?: string; normalBelow?: string }> = {
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

test('real pack: the first 10 TB-positive TBX11K test images — at least 4 above the threshold with a shown box on a lesion', { skip, todo: known().tbBoxShown }, async () => {
  const rows = readManifest(path.join(DATA, 'tbx11k', 'manifest.jsonl')).filter((r) => r._split === 'test' && r.label === 'tb' && (r.boxes ?? []).length).slice(0, 10);
  assert.equal(rows.length, 10, 'fewer than 10 TB test rows with boxes');
  const display = analyzer.pack.info().displayScore;
  let hits = 0;
  for (const row of rows) {
    const r = await analyzeFile(analyzer, row._path);
    const best = bestIou(r, row.boxes!);
    const hit = r.tbScore >= r.threshold && best > 0;
    hits += hit ? 1 : 0;
    console.log(`  ${row.id}: tbScore ${r.tbScore.toFixed(2)}, ${r.boxes.length} boxes ≥ ${display} (top ${r.boxes[0]?.score ?? '-'}), best IoU ${best.toFixed(3)} → ${hit ? 'hit' : 'miss'}`);
  }
  console.log(`  ${hits}/10 above the threshold with a shown box overlapping the ground truth`);
  assert.ok(hits >= 4, `only ${hits}/10 (val rate 0.67; bound 4)`);
});

test('real pack: the first normal Shenzhen test image scores below the threshold', { skip, todo: known().normalBelow }, async () => {
  const rows = readManifest(path.join(DATA, 'shenzhen', 'manifest.jsonl')).filter((r) => r._split === 'test' && r.label === 'normal');
  assert.ok(rows.length, 'no normal Shenzhen test rows');
  const r = await analyzeFile(analyzer, rows[0]._path);
  console.log(`  ${rows[0].id}: ${describe(r)}; lungs R ${r.lungs.right.length} / L ${r.lungs.left.length} vertices`);
  assert.ok(r.lungs.right.length >= 3 && r.lungs.left.length >= 3, 'lung outlines missing');
  assert.ok(r.tbScore < r.threshold, `${rows[0].id} scored ${r.tbScore} ≥ ${r.threshold}`);
});

/** Dice of two polygon sets rasterised on a W×H grid. */
function polyDice(a: Point[], b: Point[], W: number, H: number): number {
  const ma = rasterizePolygon(a, W, H);
  const mb = rasterizePolygon(b, W, H);
  let inter = 0;
  let sum = 0;
  for (let i = 0; i < ma.length; i++) {
    inter += ma[i] & mb[i];
    sum += ma[i] + mb[i];
  }
  return sum ? (2 * inter) / sum : 0;
}

test('real pack: non-square image — output shapes, and lungs map back to original pixels (letterbox undone)', { skip }, async () => {
  const rows = readManifest(path.join(DATA, 'shenzhen', 'manifest.jsonl'))
    .filter((r) => r._split === 'test' && r.label === 'normal' && r.lung_polygons && r.mask_info?.confidence === 'ok');
  assert.ok(rows.length, 'no normal Shenzhen test row with an ok lung mask');
  const row = rows[0];
  const { decoded: src } = await decodeFile(row._path);
  // 600×560 canvas (wider than tall, both paddings non-zero after the letterbox), the image at (64, 16), black elsewhere.
  const W = 600;
  const H = 560;
  const ox = 64;
  const oy = 16;
  assert.ok(src.columns + ox <= W && src.rows + oy <= H);
  const pixels = new Uint16Array(W * H);
  for (let y = 0; y < src.rows; y++) pixels.set(src.pixels.subarray(y * src.columns, (y + 1) * src.columns), (y + oy) * W + ox);
  const canvas = { ...src, rows: H, columns: W, pixels, minPixel: 0 };
  const { result: r, geometry: g } = await analyzeDetailed(analyzer, canvas);
  const S = analyzer.pack.info().inputSize;
  assert.deepEqual([g.srcW, g.srcH, g.newW], [W, H, S]);
  assert.ok(g.newH < S && g.padY > 0, 'the canvas should be letterboxed with vertical padding');
  assert.deepEqual(r.image, { width: W, height: H });
  assert.equal(r.probabilities.length, 3);
  assert.equal(r.evidence.grid.length, r.evidence.width * r.evidence.height);
  assert.ok(Math.abs(r.evidence.cell[0] - (4 * W) / g.newW) < 1e-9 && Math.abs(r.evidence.cell[1] - (4 * H) / g.newH) < 1e-9);
  for (const b of r.boxes) assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= W + 1e-6 && b.y + b.h <= H + 1e-6);
  const gt = row.lung_polygons!;
  const shift = (p: readonly (readonly number[])[] | undefined, dx: number, dy: number) => (p ?? []).map(([x, y]) => [x + dx, y + dy] as Point);
  const dR = polyDice(r.lungs.right, shift(gt.right_lung, ox, oy), W, H);
  const dL = polyDice(r.lungs.left, shift(gt.left_lung, ox, oy), W, H);
  // the same outline against the unshifted ground truth: what a mapping that ignored the placement would score
  const dWrong = polyDice(r.lungs.right, shift(gt.right_lung, 0, 0), W, H);
  console.log(`  ${row.id} in a ${W}x${H} canvas at (${ox}, ${oy}): letterbox ${g.newW}x${g.newH} pad (${g.padX}, ${g.padY}); lung Dice vs ground truth R ${dR.toFixed(3)} / L ${dL.toFixed(3)} (unshifted R ${dWrong.toFixed(3)}); tbScore ${r.tbScore.toFixed(2)}`);
  assert.ok(dR >= 0.85 && dL >= 0.85, `lung outlines do not land on the ground truth: R ${dR}, L ${dL}`);
});

test('real pack: where no box reaches the display score, the strongest regions below it come back as low-confidence candidates, and the boxes are unchanged', { skip }, async () => {
  const row = await firstTb();
  const { decoded, ms } = await decodeFile(row._path);
  const shown = (await analyzeDetailed(analyzer, decoded, ms)).result;
  // A display score no box reaches: every proposal becomes a candidate instead.
  const strict = (await analyzeDetailed(analyzer, decoded, ms, { minBoxScore: 0.999 })).result;
  assert.deepEqual(strict.boxes, []);
  assert.equal(strict.displayScore, 0.999);
  assert.ok(strict.candidates.length >= 1 && strict.candidates.length <= 3, JSON.stringify(strict.candidates));
  for (let i = 1; i < strict.candidates.length; i++) assert.ok(strict.candidates[i - 1].score >= strict.candidates[i].score);
  assert.ok(strict.candidates.every((c) => c.score >= 0.02 && c.score < 0.999));
  // one outline per region: no two candidates cover the same place (whatever their class)
  const xywh = (b: { x: number; y: number; w: number; h: number }) => ({ x0: b.x, y0: b.y, x1: b.x + b.w, y1: b.y + b.h });
  for (let i = 0; i < strict.candidates.length; i++) for (let j = 0; j < i; j++) assert.ok(boxIou(xywh(strict.candidates[i]), xywh(strict.candidates[j])) <= 0.5);
  // the strongest candidate is the strongest box a lower display score would have shown
  const loose = (await analyzeDetailed(analyzer, decoded, ms, { minBoxScore: 0.02 })).result;
  assert.deepEqual(strict.candidates[0], loose.boxes[0]);
  // with the pack's own display score, the boxes are what they were and there are no candidates when one is shown
  if (shown.boxes.length) assert.deepEqual(shown.candidates, []);
  assert.ok(shown.boxes.every((b) => b.score >= shown.displayScore));
});

test('real pack: TBX11K tb0005, flagged by the model with no box at the display score, comes with distinct low-confidence regions', { skip }, async () => {
  const file = path.join(DATA, 'tbx11k', 'images', 'tb0005.png');
  if (!fs.existsSync(file)) return;
  const r = await analyzeFile(analyzer, file);
  assert.ok(r.tbScore >= r.threshold, `scored ${r.tbScore}`);
  assert.deepEqual(r.boxes, []);
  assert.ok(r.candidates.length >= 2, JSON.stringify(r.candidates));
  const xywh = (b: { x: number; y: number; w: number; h: number }) => ({ x0: b.x, y0: b.y, x1: b.x + b.w, y1: b.y + b.h });
  for (let i = 0; i < r.candidates.length; i++) for (let j = 0; j < i; j++) assert.ok(boxIou(xywh(r.candidates[i]), xywh(r.candidates[j])) <= 0.5);
});

test('real pack: no chest radiograph of the shared data sets\' test split is refused as out of scope', { skip }, async () => {
  const manifests = fs.readdirSync(DATA).map((s) => path.join(DATA, s, 'manifest.jsonl')).filter((m) => fs.existsSync(m) && !m.includes('dicom_samples'));
  const rows = manifests.flatMap((m) => readManifest(m).filter((r) => r._split === 'test'));
  assert.ok(rows.length > 100, `${rows.length} test rows`);
  const refused: string[] = [];
  let lowestConfidence = 1;
  let smallestField = 1;
  for (const row of rows) {
    const { decoded } = await decodeFile(row._path);
    const { scope } = await analyzeDetailed(analyzer, decoded, 0, { scope: 'report' });
    if (!scope.inScope) refused.push(`${row.id}: ${scope.reasons.join('; ')}`);
    if (scope.measures) {
      lowestConfidence = Math.min(lowestConfidence, scope.measures.confidence);
      smallestField = Math.min(smallestField, scope.measures.rightArea, scope.measures.leftArea);
    }
  }
  console.log(`  ${rows.length} test images, ${refused.length} refused; lowest field confidence ${lowestConfidence.toFixed(3)}, smallest field ${(100 * smallestField).toFixed(2)}% of the image`);
  assert.deepEqual(refused, []);
});
