// Model pack loading (errors for damaged packs), ONNX Runtime parity with PyTorch and the whole analysis, on a
// tiny random-weight pack exported by the training code (skipped where python3 + torch are not available).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { loadModelPack, createAnalyzer, analyzeImage, type Analyzer } from './index';
import { preprocessUnit } from './preprocess';
import { tinyPack, copyPack, readParityIndex, readArray } from './testPack';
import { REPO_ROOT } from './paths';
import type { DecodedImage } from '../imaging/types';

const fx = tinyPack();
const skip = fx.dir ? false : `tiny pack unavailable: ${fx.reason}`;
let analyzer: Analyzer;

before(async () => {
  if (!fx.dir) return;
  analyzer = await createAnalyzer(await loadModelPack(fx.dir, { threads: 1 }), { ep: 'cpu' });
});

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, `expected an AppError, got ${e}`);
    return { code: e.code, message: e.message };
  }
  assert.fail('expected the pack to be refused');
}

function setSha(dir: string) {
  const mp = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(mp, 'utf8'));
  m.model_sha256 = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'model.onnx'))).digest('hex');
  fs.writeFileSync(mp, JSON.stringify(m));
}

test('loads the pack: info and isValid', { skip }, async () => {
  const pack = await loadModelPack(fx.dir!);
  const info = pack.info();
  assert.equal(info.name, 'tiny-test');
  assert.equal(info.inputSize, 256);
  assert.deepEqual(info.lungClassNames, ['background', 'right_lung', 'left_lung']);
  assert.equal(pack.isValid(), true);
  assert.equal(analyzer.ep, 'cpu');
});

test('loader errors: missing folder, missing manifest, missing model', { skip }, async () => {
  assert.equal((await codeOf(loadModelPack('/nonexistent/pack'))).code, 'MODEL_MISSING');
  const d = copyPack(fx.dir!);
  fs.rmSync(path.join(d, 'model.onnx'));
  const e = await codeOf(loadModelPack(d));
  assert.equal(e.code, 'MODEL_MISSING');
  assert.match(e.message, /model\.onnx is missing/);
  fs.rmSync(path.join(d, 'manifest.json'));
  assert.equal((await codeOf(loadModelPack(d))).code, 'MODEL_MISSING');
});

test('loader errors: wrong sha256, truncated ONNX, random bytes, a PNG renamed model.onnx', { skip }, async () => {
  const d = copyPack(fx.dir!);
  const onnx = fs.readFileSync(path.join(d, 'model.onnx'));
  fs.writeFileSync(path.join(d, 'model.onnx'), onnx.subarray(0, Math.floor(onnx.length / 2)));
  let e = await codeOf(loadModelPack(d));
  assert.equal(e.code, 'MODEL_CORRUPT');
  assert.match(e.message, /checksum/);
  setSha(d); // the checksum now matches the truncated file: ONNX Runtime must refuse it
  e = await codeOf(loadModelPack(d));
  assert.equal(e.code, 'MODEL_CORRUPT');
  assert.match(e.message, /could not be loaded by ONNX Runtime/);
  fs.writeFileSync(path.join(d, 'model.onnx'), crypto.randomBytes(50_000));
  setSha(d);
  assert.equal((await codeOf(loadModelPack(d))).code, 'MODEL_CORRUPT');
  fs.writeFileSync(path.join(d, 'model.onnx'), Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), crypto.randomBytes(300)]));
  setSha(d);
  assert.equal((await codeOf(loadModelPack(d))).code, 'MODEL_CORRUPT');
  fs.writeFileSync(path.join(d, 'manifest.json'), '{"name": ');
  assert.equal((await codeOf(loadModelPack(d))).code, 'MODEL_CORRUPT');
});

test('loader errors: outputs not as declared, and isValid after the file changes', { skip }, async () => {
  const d = copyPack(fx.dir!);
  const mp = path.join(d, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(mp, 'utf8'));
  const good = JSON.stringify(m);
  m.outputs.find((o: { name: string }) => o.name === 'evidence').name = 'evidence_map';
  m.evidence.name = 'evidence_map';
  fs.writeFileSync(mp, JSON.stringify(m));
  let e = await codeOf(loadModelPack(d));
  assert.equal(e.code, 'MODEL_MISMATCH');
  assert.match(e.message, /evidence_map/);
  // the pack is 256 px; a manifest claiming 320 px is consistent with itself but not with the ONNX file
  const m2 = JSON.parse(good);
  m2.input_size = 320;
  m2.input.shape = ['N', 1, 320, 320];
  m2.preprocess.letterbox.size = 320;
  for (const o of m2.outputs) if (o.shape.length === 4) o.shape = [o.shape[0], o.shape[1], (o.shape[2] * 320) / 256, (o.shape[3] * 320) / 256];
  fs.writeFileSync(mp, JSON.stringify(m2));
  e = await codeOf(loadModelPack(d));
  assert.equal(e.code, 'MODEL_MISMATCH');
  fs.writeFileSync(mp, good);
  const pack = await loadModelPack(d);
  assert.equal(pack.isValid(), true);
  fs.appendFileSync(path.join(d, 'model.onnx'), Buffer.from([0]));
  assert.equal(pack.isValid(), false);
  assert.equal(pack.check()?.code, 'MODEL_CORRUPT');
});

test('preprocessing matches preprocess.py on the parity phantoms', { skip }, () => {
  const pdir = path.join(fx.dir!, 'parity');
  const idx = readParityIndex(path.join(pdir, 'index.json'));
  for (const s of idx.samples) {
    const raw = readArray(pdir, s.raw) as Uint8Array | Uint16Array;
    const [h, w] = s.raw.shape;
    const den = s.raw.dtype === 'uint8' ? 255 : 65535;
    const unit = Float64Array.from(raw, (v) => v / den);
    const { input, geometry } = preprocessUnit(unit, w, h, idx.input_size);
    assert.deepEqual([geometry.newW, geometry.newH, geometry.padX, geometry.padY], [s.letterbox.new_w, s.letterbox.new_h, s.letterbox.pad_x, s.letterbox.pad_y]);
    const ref = readArray(pdir, s.input) as Float32Array;
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i] - input[i]));
    console.log(`  preprocess parity ${s.id} (${w}x${h} ${s.raw.dtype}): max |diff| = ${d.toExponential(3)}`);
    assert.ok(d <= idx.tolerance.input_abs, `${s.id}: ${d}`);
  }
});

test('ONNX Runtime outputs match PyTorch within the fixture tolerance', { skip }, async () => {
  const pdir = path.join(fx.dir!, 'parity');
  const idx = readParityIndex(path.join(pdir, 'index.json'));
  const { outputs_abs: tabs, outputs_rel: trel } = idx.tolerance;
  for (const s of idx.samples) {
    const out = await analyzer.run(readArray(pdir, s.input) as Float32Array);
    for (const [name, a] of Object.entries(s.outputs)) {
      const ref = readArray(pdir, a) as Float32Array;
      const got = out[name].data;
      assert.equal(got.length, ref.length, name);
      let d = 0;
      let worst = 0;
      for (let i = 0; i < ref.length; i++) {
        const e = Math.abs(ref[i] - got[i]);
        d = Math.max(d, e);
        worst = Math.max(worst, e / (tabs + trel * Math.abs(ref[i])));
      }
      console.log(`  onnx parity ${s.id} ${name}: max |diff| = ${d.toExponential(3)}`);
      assert.ok(worst <= 1, `${s.id} ${name}: max diff ${d} beyond abs ${tabs} + rel ${trel}`);
    }
  }
});

function syntheticImage(w: number, h: number): DecodedImage {
  const px = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = Math.round(128 + 100 * Math.sin(x / 17) * Math.cos(y / 23));
  return {
    format: 'png', rows: h, columns: w, bitsStored: 8, pixels: px, photometric: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: 0,
    pixelSpacing: null, minPixel: 28, maxPixel: 228, windows: [{ name: 'Full range', center: 128, width: 256 }], transferSyntax: null, dicom: null,
  };
}

test('analyzeImage returns the whole result in original coordinates', { skip }, async () => {
  const img = syntheticImage(300, 200);
  const r = await analyzeImage(analyzer, img);
  assert.equal(r.probabilities.length, 3);
  assert.ok(Math.abs(r.probabilities.reduce((a, p) => a + p.p, 0) - 1) < 1e-5);
  assert.ok(r.tbScore >= 0 && r.tbScore <= 100);
  assert.equal(r.model.ep, 'cpu');
  assert.equal(r.zones.length, r.boxes.length);
  for (const b of r.boxes) assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= 300 + 1e-6 && b.y + b.h <= 200 + 1e-6);
  for (const side of ['right', 'left'] as const) for (const [x, y] of r.lungs[side]) assert.ok(x >= 0 && x <= 300 && y >= 0 && y <= 200);
  assert.equal(r.evidence.grid.length, r.evidence.width * r.evidence.height);
  for (const k of ['preprocess', 'inference', 'postprocess'] as const) assert.ok(r.timingsMs[k] >= 0);
  console.log(`  analyzeImage 300x200: ${JSON.stringify(r.timingsMs)}; ${r.boxes.length} boxes; lungs R ${r.lungs.right.length} / L ${r.lungs.left.length} vertices`);
});

test('analyzer falls back to CPU with a reason when a GPU provider is not available', { skip }, async () => {
  const pack = await loadModelPack(fx.dir!, { threads: 1 });
  const a = await createAnalyzer(pack, { ep: process.platform === 'win32' ? 'cuda' : 'dml' });
  assert.equal(a.ep, 'cpu');
  assert.ok(a.epFallbackReason && a.epFallbackReason.length > 0);
  await a.release();
  // where CUDA is the GPU provider to try (Linux) and its libraries are not installed, the reason is for the clinic's
  // IT person: it names the guide's section, never a source file or a folder of the machine
  if (process.platform === 'linux') {
    const cuda = await createAnalyzer(await loadModelPack(fx.dir!, { threads: 1 }), { ep: 'cuda' });
    if (cuda.ep === 'cpu') {
      assert.match(cuda.epFallbackReason ?? '', /GPU acceleration/);
      assert.doesNotMatch(cuda.epFallbackReason ?? '', /\.(ts|js|py)\b|node_modules|\/usr\/|\/home\/|\/work\//);
    }
    await cuda.release();
  }
});

const DICOM_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'datasets', 'dicom_samples');
const dicomSkip = skip || (fs.existsSync(DICOM_DIR) ? false : `${DICOM_DIR} not found`);

test('DICOM: MONOCHROME1 is inverted after the default window; a CR file analyzes end to end', { skip: dicomSkip }, async () => {
  const { decodeFile } = await import('./analyze');
  const { toUnitRange } = await import('./preprocess');
  const { analyzeFile } = await import('./index');
  const a = (await decodeFile(path.join(DICOM_DIR, 'siim_cr_chest_pa_jpegbaseline.dcm'))).decoded;
  const b = (await decodeFile(path.join(DICOM_DIR, 'siim_cr_chest_pa_jpegbaseline_MONOCHROME1_edited.dcm'))).decoded;
  assert.equal(b.photometric, 'MONOCHROME1');
  assert.deepEqual(a.windows[0], b.windows[0]);
  const ua = toUnitRange(a);
  const ub = toUnitRange(b);
  let d = 0;
  for (let i = 0; i < ua.length; i++) d = Math.max(d, Math.abs(ua[i] + ub[i] - 1));
  assert.ok(d < 1e-12, `unit(MONOCHROME1) != 1 - unit(MONOCHROME2): ${d}`);
  const r = await analyzeFile(analyzer, path.join(DICOM_DIR, 'nema_cr_mono1_10_chest_no_part10_header.dcm'));
  assert.ok(r.timingsMs.decode > 0 && r.image.width === 440);
});
