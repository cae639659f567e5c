// Model input from a decoded image, reproducing models/training/preprocess.py bit for bit where it can (float64
// throughout, same operation order, no FMA in JavaScript) so the runtime sees what the network was trained on.
//
// Conversion of a DecodedImage to [0, 1] (independent of the viewer's current window/level):
//   PNG/JPEG: v / (2^bitsStored − 1), i.e. 8-bit v/255 and 16-bit PNG v/65535 (the decoder gives only 8 or 16).
//   DICOM:    modality value m = v·RescaleSlope + RescaleIntercept; the image's default window preset
//             (windows[0]: the file's first VOI window, else the decoder's Auto 1st–99th percentile window) is
//             applied with the DICOM linear VOI function (PS3.3 C.11.2.1.2.1) scaled to [0, 1]:
//               m ≤ c − 0.5 − (w−1)/2 → 0;  m > c − 0.5 + (w−1)/2 → 1;  else ((m − (c − 0.5)) / (w − 1) + 0.5)
//             (w < 1 is treated as 1); clipped to [0, 1]; MONOCHROME1 then inverted (1 − y) so bone is bright.
//   The training data were display-ready PNG/JPEG renderings, which a windowed DICOM resembles; the raw
//   v/(2^BitsStored−1) rule in the pack's preprocess spec gives washed-out inputs for CR/DX with narrow use of
//   their range, so the window is applied first.
import type { DecodedImage } from '../imaging/types';

export interface Letterbox {
  size: number;
  srcW: number;
  srcH: number;
  newW: number;
  newH: number;
  padX: number;
  padY: number;
}

export function letterboxGeometry(w: number, h: number, size: number): Letterbox {
  const scale = size / Math.max(w, h);
  const nw = Math.min(size, Math.max(1, Math.floor(w * scale + 0.5)));
  const nh = Math.min(size, Math.max(1, Math.floor(h * scale + 0.5)));
  return { size, srcW: w, srcH: h, newW: nw, newH: nh, padX: Math.floor((size - nw) / 2), padY: Math.floor((size - nh) / 2) };
}

/** Letterbox pixel coordinates (continuous) → original image pixel coordinates. */
export function toSource(g: Letterbox, x: number, y: number): [number, number] {
  return [((x - g.padX) * g.srcW) / g.newW, ((y - g.padY) * g.srcH) / g.newH];
}

/** Original image coordinates → letterbox coordinates. */
export function toLetterbox(g: Letterbox, x: number, y: number): [number, number] {
  return [(x * g.newW) / g.srcW + g.padX, (y * g.newH) / g.srcH + g.padY];
}

/** Per-image [0,1] conversion described at the top of this file. */
export function toUnitRange(img: DecodedImage): Float64Array {
  const n = img.rows * img.columns;
  const out = new Float64Array(n);
  const px = img.pixels;
  if (img.format !== 'dicom') {
    const den = img.bitsStored >= 16 ? 65535 : img.bitsStored <= 8 ? 255 : 2 ** img.bitsStored - 1;
    for (let i = 0; i < n; i++) out[i] = px[i] / den;
    return out;
  }
  const lut = dicomUnitLut(img);
  for (let i = 0; i < n; i++) out[i] = lut[px[i]];
  return out;
}

/** Stored value → [0,1] for a DICOM image (default window, MONOCHROME1 inverted). */
export function dicomUnitLut(img: Pick<DecodedImage, 'windows' | 'rescaleSlope' | 'rescaleIntercept' | 'photometric' | 'maxPixel' | 'minPixel'>): Float64Array {
  const win = img.windows[0] ?? {
    center: ((img.minPixel + img.maxPixel) / 2) * img.rescaleSlope + img.rescaleIntercept,
    width: Math.max(1, (img.maxPixel - img.minPixel) * Math.abs(img.rescaleSlope)),
  };
  const c = win.center;
  const w = Math.max(1, win.width);
  const lo = c - 0.5 - (w - 1) / 2;
  const hi = c - 0.5 + (w - 1) / 2;
  const lut = new Float64Array(Math.max(img.maxPixel, 0) + 1);
  const inv = img.photometric === 'MONOCHROME1';
  for (let v = 0; v < lut.length; v++) {
    const m = v * img.rescaleSlope + img.rescaleIntercept;
    let y = m <= lo ? 0 : m > hi ? 1 : w === 1 ? 1 : (m - (c - 0.5)) / (w - 1) + 0.5;
    y = y < 0 ? 0 : y > 1 ? 1 : y;
    lut[v] = inv ? 1 - y : y;
  }
  return lut;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array[];
}

/** Pillow-style antialiased triangle-filter taps (preprocess.py `_taps`). */
function taps(nIn: number, nOut: number): Taps {
  const ratio = nIn / nOut;
  const fs = Math.max(ratio, 1.0);
  const start = new Int32Array(nOut);
  const count = new Int32Array(nOut);
  const weights: Float64Array[] = [];
  for (let i = 0; i < nOut; i++) {
    const center = (i + 0.5) * ratio;
    let j0 = Math.max(0, Math.floor(center - fs + 0.5));
    const j1 = Math.min(nIn, Math.floor(center + fs + 0.5));
    let ws: number[] = [];
    for (let j = j0; j < j1; j++) {
      const t = Math.abs((j - center + 0.5) / fs);
      ws.push(Math.max(0.0, 1.0 - t));
    }
    let tot = 0.0;
    for (const v of ws) tot += v;
    if (tot === 0.0) {
      ws = [1.0];
      j0 = Math.min(nIn - 1, Math.trunc(center));
      tot = 1.0;
    }
    start[i] = j0;
    count[i] = ws.length;
    weights.push(Float64Array.from(ws, (v) => v / tot));
  }
  return { start, count, weights };
}

/** Resample rows of a [h, w] float64 image to [h, nOut] (one separable pass). */
function resizeRows(src: Float64Array, h: number, w: number, nOut: number): Float64Array {
  const t = taps(w, nOut);
  const out = new Float64Array(h * nOut);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let i = 0; i < nOut; i++) {
      const j0 = row + t.start[i];
      const ws = t.weights[i];
      let acc = 0.0;
      for (let k = 0; k < ws.length; k++) acc = acc + ws[k] * src[j0 + k];
      out[y * nOut + i] = acc;
    }
  }
  return out;
}

/** Resample columns of a [h, w] float64 image to [nOut, w]. */
function resizeCols(src: Float64Array, h: number, w: number, nOut: number): Float64Array {
  const t = taps(h, nOut);
  const out = new Float64Array(nOut * w);
  for (let i = 0; i < nOut; i++) {
    const j0 = t.start[i];
    const ws = t.weights[i];
    const o = i * w;
    for (let x = 0; x < w; x++) {
      let acc = 0.0;
      for (let k = 0; k < ws.length; k++) acc = acc + ws[k] * src[(j0 + k) * w + x];
      out[o + x] = acc;
    }
  }
  return out;
}

/** Antialiased bilinear resize, horizontal pass then vertical (preprocess.py `resize_bilinear_aa`). */
export function resizeBilinearAA(src: Float64Array, w: number, h: number, newW: number, newH: number): Float64Array {
  let x = src;
  if (w !== newW) x = resizeRows(x, h, w, newW);
  if (h !== newH) x = resizeCols(x, h, newW, newH);
  return x === src ? Float64Array.from(src) : x;
}

/** [0,1] image → letterboxed S×S float64 (padding 0.0). */
export function letterbox(img01: Float64Array, w: number, h: number, size: number): { lb: Float64Array; geometry: Letterbox } {
  const g = letterboxGeometry(w, h, size);
  const r = resizeBilinearAA(img01, w, h, g.newW, g.newH);
  const lb = new Float64Array(size * size);
  for (let y = 0; y < g.newH; y++) lb.set(r.subarray(y * g.newW, (y + 1) * g.newW), (y + g.padY) * size + g.padX);
  return { lb, geometry: g };
}

/** Per-image z-score in float64 with sequential sums, cast to float32 (preprocess.py `normalise`). */
export function normalise(lb: Float64Array, eps = 1e-6): Float32Array {
  const n = lb.length;
  let s = 0.0;
  for (let i = 0; i < n; i++) s += lb[i];
  const mean = s / n;
  let v = 0.0;
  for (let i = 0; i < n; i++) {
    const d = lb[i] - mean;
    v += d * d;
  }
  const std = Math.max(Math.sqrt(v / n), eps);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (lb[i] - mean) / std;
  return out;
}

/** [0,1] image → model input [1,1,S,S] and the letterbox geometry to map results back. */
export function preprocessUnit(img01: Float64Array, w: number, h: number, size: number): { input: Float32Array; geometry: Letterbox } {
  const { lb, geometry } = letterbox(img01, w, h, size);
  return { input: normalise(lb), geometry };
}

export function preprocessImage(img: DecodedImage, size: number): { input: Float32Array; geometry: Letterbox } {
  return preprocessUnit(toUnitRange(img), img.columns, img.rows, size);
}
