import { test } from 'node:test';
import assert from 'node:assert/strict';
import { letterboxGeometry } from './preprocess';
import {
  assignZones, boxToSource, decodeCenterNet, largestComponent, lungPolygon, nmsByClass, rasterizePolygon, traceOuterContour,
  type LbBox,
} from './postprocess';

test('boxes map back to original pixels on a non-square image (letterbox undone)', () => {
  const g = letterboxGeometry(400, 200, 256);
  assert.deepEqual([g.newW, g.newH, g.padX, g.padY], [256, 128, 0, 64]);
  const b = boxToSource(g, { x0: 64, y0: 96, x1: 128, y1: 160, score: 0.9, cls: 0 }, 'ActiveTuberculosis');
  assert.deepEqual(b, { x: 100, y: 50, w: 100, h: 100, label: 'ActiveTuberculosis', score: 0.9 });
  // a portrait image: padding on x
  const gp = letterboxGeometry(200, 400, 256);
  const bp = boxToSource(gp, { x0: 128, y0: 64, x1: 192, y1: 128, score: 0.5, cls: 1 }, 'x');
  assert.deepEqual([bp.x, bp.y, bp.w, bp.h], [100, 100, 100, 100]);
});

test('CenterNet decode: 3x3 peaks, offsets, sizes, threshold, then mapping back', () => {
  const R = 64;
  const hm = new Float32Array(2 * R * R);
  const wh = new Float32Array(2 * R * R);
  const off = new Float32Array(2 * R * R);
  const p = 32 * R + 24;
  hm[p] = 0.9;
  hm[p + 1] = 0.8; // neighbour of a higher peak: suppressed
  hm[R * R + 10 * R + 10] = 0.2; // below the display score
  off[p] = 0.5;
  off[R * R + p] = 0.25;
  wh[p] = 64;
  wh[R * R + p] = 64;
  const boxes = decodeCenterNet(hm, 2, R, wh, off, 4, 100, 0.3);
  assert.equal(boxes.length, 1);
  assert.deepEqual(boxes[0], { x0: 66, y0: 97, x1: 130, y1: 161, score: boxes[0].score, cls: 0 });
  const g = letterboxGeometry(400, 200, 256);
  const b = boxToSource(g, boxes[0], 'ActiveTuberculosis');
  assert.deepEqual([b.x, b.y, b.w, b.h], [103.125, 51.5625, 100, 100]);
});

test('class-wise NMS at IoU 0.5', () => {
  const a: LbBox = { x0: 0, y0: 0, x1: 10, y1: 10, score: 0.9, cls: 0 };
  const kept = nmsByClass([a, { ...a, x1: 11, score: 0.8 }, { ...a, score: 0.7, cls: 1 }, { ...a, x0: 20, x1: 30, score: 0.6 }]);
  assert.deepEqual(kept.map((k) => k.score), [0.9, 0.7, 0.6]);
});

test('contour tracing along pixel edges round-trips through rasterisation', () => {
  const W = 10;
  const H = 8;
  const m = new Uint8Array(W * H);
  const set = (x: number, y: number) => (m[y * W + x] = 1);
  for (let y = 1; y <= 5; y++) for (let x = 2; x <= 4; x++) set(x, y); // L shape
  for (let x = 5; x <= 7; x++) set(x, 5);
  set(9, 0); // a separate speck
  const big = largestComponent(m, W, H, 1);
  assert.equal(big[9], 0);
  const ring = traceOuterContour(big, W, H);
  assert.deepEqual(ring, [[2, 1], [5, 1], [5, 5], [8, 5], [8, 6], [2, 6]]);
  const back = rasterizePolygon(ring, W, H);
  assert.deepEqual(Array.from(back), Array.from(big));
});

test('lung zones: side by mask overlap, thirds of that lung, halves as fallback', () => {
  const S = 12;
  const g = letterboxGeometry(12, 12, 12);
  const right = new Uint8Array(S * S);
  const left = new Uint8Array(S * S);
  for (let y = 2; y < 11; y++) for (let x = 1; x < 5; x++) right[y * S + x] = 1;
  for (let y = 2; y < 11; y++) for (let x = 7; x < 11; x++) left[y * S + x] = 1;
  const boxes = [
    { x: 1, y: 2, w: 3, h: 2, label: 'a', score: 1 },
    { x: 7, y: 8, w: 3, h: 3, label: 'a', score: 1 },
    { x: 5, y: 0, w: 1, h: 1, label: 'a', score: 1 },
  ];
  const z = assignZones(boxes, { right, left, size: S }, g);
  assert.deepEqual(z.map((k) => [k.side, k.zone, k.method]), [['right', 'upper', 'lung_mask'], ['left', 'lower', 'lung_mask'], ['right', 'upper', 'image_halves']]);
  const empty = assignZones(boxes, { right: new Uint8Array(S * S), left: new Uint8Array(S * S), size: S }, g);
  assert.deepEqual(empty.map((k) => [k.side, k.zone]), [['right', 'upper'], ['left', 'lower'], ['right', 'upper']]);
  // the polygon of a mask comes back in original coordinates (here 2x the letterbox)
  const g2 = letterboxGeometry(24, 24, 12);
  const poly = lungPolygon(right, g2);
  assert.deepEqual(poly, [[2, 4], [10, 4], [10, 22], [2, 22]]);
});
