// The out-of-scope rule on lung maps built by hand (no model): two plausible fields pass; a missing field, one field
// filling the image, a scattered map, swapped sides, fields at the top or at different heights, an unsure map, a
// noise image and a blank image are each refused with their reason. With the shipped pack: blank, uniform and noise
// images get OUT_OF_SCOPE and no score, where they used to be scored "healthy".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { letterboxGeometry } from './preprocess';
import { lungMasks } from './postprocess';
import { lungFieldReasons, measureLungFields, scopeVerdict, SCOPE_LIMITS, type LungFieldMeasures } from './scope';
import { analyzeImage, createAnalyzer, defaultPackDir, loadModelPack } from './index';
import type { DecodedImage } from '../imaging/types';
import { picker, seededRandom } from '../../testing/random';

const S = 64;
const L = 32;
const g = letterboxGeometry(512, 512, S);

/** A lung map with an ellipse per field (centre and radii as fractions of the image), its logits and a smooth input. */
function map(fields: { label: 1 | 2; cx: number; cy: number; rx: number; ry: number }[], confidence = 6) {
  const labels = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      for (const f of fields) if (((x + 0.5) / S - f.cx) ** 2 / f.rx ** 2 + ((y + 0.5) / S - f.cy) ** 2 / f.ry ** 2 < 1) labels[y * S + x] = f.label;
    }
  }
  const logits = new Float32Array(3 * L * L);
  for (let y = 0; y < L; y++) for (let x = 0; x < L; x++) logits[labels[Math.floor((y * S) / L) * S + Math.floor((x * S) / L)] * L * L + y * L + x] = confidence;
  const input = new Float32Array(S * S).map((_, i) => Math.sin((i % S) / 9) + Math.cos(Math.floor(i / S) / 11));
  return { labels, logits, input, masks: lungMasks(labels, S, 1, 2) };
}

const measure = (m: ReturnType<typeof map>): LungFieldMeasures => measureLungFields(m.input, m.logits, 3, L, m.masks, g);
const LUNGS = [
  { label: 1 as const, cx: 0.3, cy: 0.45, rx: 0.13, ry: 0.27 },
  { label: 2 as const, cx: 0.7, cy: 0.45, rx: 0.13, ry: 0.27 },
];

test('two plausible lung fields pass; the measures say what the map shows', () => {
  const m = measure(map(LUNGS));
  assert.deepEqual(lungFieldReasons(m), [], JSON.stringify(m));
  assert.ok(m.rightArea > 0.09 && m.rightArea < 0.13, JSON.stringify(m));
  assert.ok(m.rightCx < 0.35 && m.leftCx > 0.65, JSON.stringify(m));
  assert.ok(m.confidence > 0.9, JSON.stringify(m));
  assert.ok(m.fineVariance < 0.05, JSON.stringify(m));
  assert.equal(scopeVerdict({ minPixel: 0, maxPixel: 255 }, m).inScope, true);
});

test('each implausible map is refused with its reason', () => {
  const cases: [string, ReturnType<typeof map>, RegExp][] = [
    ['one lung', map([LUNGS[0]]), /no left lung field/],
    ['a field filling the image (a blank frame reads so)', map([{ label: 2, cx: 0.5, cy: 0.5, rx: 0.6, ry: 0.6 }, { label: 1, cx: 0.5, cy: 0.05, rx: 0.2, ry: 0.04 }]), /covers .* of the image/],
    ['tiny fields', map(LUNGS.map((f) => ({ ...f, rx: 0.04, ry: 0.06 }))), /together cover only/],
    ['swapped sides', map(LUNGS.map((f) => ({ ...f, cx: 1 - f.cx }))), /not side by side/],
    ['at the very top', map(LUNGS.map((f) => ({ ...f, cy: 0.07, ry: 0.06, rx: 0.3 }))), /very top/],
    ['at different heights', map([{ ...LUNGS[0], cy: 0.25, ry: 0.15 }, { ...LUNGS[1], cy: 0.75, ry: 0.15 }]), /very different heights/],
    ['unsure', map(LUNGS, 0.2), /unsure of the lung fields/],
  ];
  for (const [what, m, reason] of cases) {
    const reasons = lungFieldReasons(measure(m));
    assert.ok(reasons.some((r) => reason.test(r)), `${what}: ${JSON.stringify(reasons)}`);
  }
  // a scattered map: each side's pixels strewn over the image
  const p = picker(seededRandom(5));
  const speckle = map(LUNGS);
  for (let i = 0; i < S * S; i++) if (p.chance(0.5)) speckle.labels[i] = p.chance(0.5) ? 1 : 2;
  speckle.masks = lungMasks(speckle.labels, S, 1, 2);
  assert.ok(lungFieldReasons(measure(speckle)).some((r) => /scattered/.test(r)), JSON.stringify(lungFieldReasons(measure(speckle))));
  // noise in the input itself
  const noisy = map(LUNGS);
  noisy.input = new Float32Array(S * S).map(() => p.int(1000) / 500 - 1);
  const n = measure(noisy);
  assert.ok(n.fineVariance > SCOPE_LIMITS.maxFineVariance, String(n.fineVariance));
  assert.match(lungFieldReasons(n)[0], /the image is noise/);
  // a blank image, whatever its map
  const blank = scopeVerdict({ minPixel: 77, maxPixel: 77 }, measure(map(LUNGS)));
  assert.equal(blank.inScope, false);
  assert.match(blank.inScope ? '' : blank.reasons[0], /blank: every pixel has the value 77/);
});

// ---- with the shipped pack ----------------------------------------------------------------------------------------

const PACK = process.env.CXR_TEST_PACK || defaultPackDir();
const noPack = fs.existsSync(path.join(PACK, 'manifest.json')) ? false : `no model pack at ${PACK}`;

function image(w: number, h: number, value: (x: number, y: number) => number): DecodedImage {
  const pixels = new Uint16Array(w * h);
  let min = 255;
  let max = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.max(0, Math.min(255, Math.round(value(x, y))));
      pixels[y * w + x] = v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  return { format: 'png', rows: h, columns: w, bitsStored: 8, pixels, photometric: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: 0, pixelSpacing: null, minPixel: min, maxPixel: max, windows: [{ name: 'Full range', center: 128, width: 256 }], transferSyntax: null, dicom: null };
}

test('shipped pack: blank, uniform and noise images get OUT_OF_SCOPE and no score', { skip: noPack }, async () => {
  const analyzer = await createAnalyzer(await loadModelPack(PACK, { threads: 1 }), { ep: 'cpu' });
  try {
    const p = picker(seededRandom(17));
    const gauss = () => Math.sqrt(-2 * Math.log(1 - p.int(1e6) / 1e6)) * Math.cos(2 * Math.PI * (p.int(1e6) / 1e6));
    const inputs: [string, DecodedImage, RegExp][] = [
      ['black 512 x 512', image(512, 512, () => 0), /blank/],
      ['grey 8192 x 8192 in spirit: a uniform 1024 x 1024', image(1024, 1024, () => 128), /blank/],
      ['uniform noise', image(512, 512, () => p.int(256)), /noise/],
      ['Gaussian noise', image(600, 480, () => 128 + 40 * gauss()), /noise/],
      ['salt and pepper', image(512, 512, () => (p.chance(0.1) ? (p.chance(0.5) ? 0 : 255) : 128)), /noise/],
      ['a horizontal ramp', image(512, 512, (x) => x / 2), /lung field/],
    ];
    for (const [what, img, why] of inputs) {
      await assert.rejects(analyzeImage(analyzer, img), (e: unknown) => {
        assert.ok(e instanceof AppError, String(e));
        assert.equal(e.code, 'OUT_OF_SCOPE', `${what}: ${e.message}`);
        assert.match(e.message, /no two plausible lung fields/);
        assert.match(e.message, why, what);
        assert.match(e.message, /gets no TB score/);
        return true;
      }, what);
    }
  } finally {
    await analyzer.release();
  }
});
