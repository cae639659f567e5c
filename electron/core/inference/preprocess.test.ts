import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodedImage } from '../imaging/types';
import { letterboxGeometry, toUnitRange, toSource, toLetterbox, resizeBilinearAA, normalise } from './preprocess';

function img(over: Partial<DecodedImage>): DecodedImage {
  return {
    format: 'dicom', rows: 1, columns: 4, bitsStored: 12, pixels: Uint16Array.from([0, 1000, 2000, 4095]), photometric: 'MONOCHROME2',
    rescaleSlope: 1, rescaleIntercept: 0, pixelSpacing: null, minPixel: 0, maxPixel: 4095, windows: [{ name: 'w', center: 1000.5, width: 1001 }],
    transferSyntax: '1.2.840.10008.1.2.1', dicom: null, ...over,
  };
}

test('DICOM → [0,1] uses the default window in modality units, clipped', () => {
  // window 500..1500 (DICOM linear: c − 0.5 ± (w − 1)/2)
  assert.deepEqual(Array.from(toUnitRange(img({}))), [0, 0.5, 1, 1]);
  // rescale: modality = 2·v − 1000 → stored 1000 is modality 1000 (the window centre), stored 875 is 750
  const r = toUnitRange(img({ pixels: Uint16Array.from([0, 1000, 875, 4095]), rescaleSlope: 2, rescaleIntercept: -1000 }));
  assert.deepEqual(Array.from(r), [0, 0.5, 0.25, 1]);
});

test('MONOCHROME1 is inverted after windowing so bone is bright', () => {
  assert.deepEqual(Array.from(toUnitRange(img({ photometric: 'MONOCHROME1' }))), [1, 0.5, 0, 0]);
});

test('PNG/JPEG: 8-bit v/255, 16-bit v/65535, whatever the window presets say', () => {
  assert.deepEqual(Array.from(toUnitRange(img({ format: 'png', bitsStored: 8, pixels: Uint16Array.from([0, 51, 255, 255]) }))), [0, 0.2, 1, 1]);
  assert.deepEqual(Array.from(toUnitRange(img({ format: 'png', bitsStored: 16, pixels: Uint16Array.from([0, 13107, 65535, 0]) }))), [0, 0.2, 1, 0]);
  assert.deepEqual(Array.from(toUnitRange(img({ format: 'jpeg', bitsStored: 8, pixels: Uint16Array.from([0, 255, 0, 0]) }))).slice(0, 2), [0, 1]);
});

test('letterbox geometry and its inverse', () => {
  const g = letterboxGeometry(1000, 800, 256);
  assert.deepEqual([g.newW, g.newH, g.padX, g.padY], [256, 205, 0, 25]);
  const [x, y] = toSource(g, ...toLetterbox(g, 123.4, 567.8));
  assert.ok(Math.abs(x - 123.4) < 1e-9 && Math.abs(y - 567.8) < 1e-9);
});

test('antialiased resize keeps a constant image constant; normalisation is a z-score', () => {
  const src = new Float64Array(37 * 23).fill(0.25);
  const r = resizeBilinearAA(src, 37, 23, 11, 7);
  for (const v of r) assert.ok(Math.abs(v - 0.25) < 1e-12);
  const z = normalise(Float64Array.from([0, 1, 0, 1]));
  assert.deepEqual(Array.from(z), [-1, 1, -1, 1]);
});
