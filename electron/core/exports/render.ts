// The key image for the PDF: the stored pixels through the default window (MONOCHROME1 inverted), reduced by area
// averaging to a print resolution, with the lung outlines and the finding boxes drawn in the viewer's colours (box
// colour by the reader's decision), as 8-bit RGB. Box numbers
// are written by the PDF itself beside each box, so they stay sharp at any zoom.
import type { Finding } from '../../contract/annotations';
import type { ExportInput } from './types';
import { FINDING_COLOURS, MASK_COLOURS } from '../../contract/presentation';

/** longest side of the rendered image: about 230 dpi at the size the PDF prints it (at most 13 cm tall) */
export const RENDER_MAX_SIDE = 1200;

export interface RenderedImage {
  /** width * height * 3 bytes, row-major */
  rgb: Uint8Array;
  width: number;
  height: number;
  /** each drawn finding's box in output pixels, with its number in the findings list */
  boxes: { n: number; x: number; y: number; w: number; h: number; colour: [number, number, number] }[];
}

/** The viewer's colours (contract/presentation), so that the PDF's legend and the screen agree. */
const rgbOf = (c: { rgb: readonly [number, number, number] }): [number, number, number] => [c.rgb[0], c.rgb[1], c.rgb[2]];

/** Grey levels 0..255 for the stored values, through the window (DICOM PS3.3 C.11.2.1.2 linear function). */
function windowLut(input: ExportInput['image']): Uint8Array {
  const lut = new Uint8Array(65536);
  const { center, width } = input.window;
  const w = Math.max(1, width);
  const invert = input.photometric === 'MONOCHROME1';
  for (let v = 0; v < 65536; v++) {
    const m = v * input.rescaleSlope + input.rescaleIntercept;
    let y: number;
    if (m <= center - 0.5 - (w - 1) / 2) y = 0;
    else if (m > center - 0.5 + (w - 1) / 2) y = 255;
    else y = ((m - (center - 0.5)) / (w - 1) + 0.5) * 255;
    y = Math.max(0, Math.min(255, Math.round(y)));
    lut[v] = invert ? 255 - y : y;
  }
  return lut;
}

/** For each source column (or row), the output column (or row) its pixels are averaged into. */
function binMap(source: number, output: number): Int32Array {
  const m = new Int32Array(source);
  for (let i = 0; i < source; i++) m[i] = Math.min(output - 1, Math.floor((i * output) / source));
  return m;
}

/**
 * The bins of an area average from a sw x sh source onto an ow x oh output: a running sum and count per output
 * pixel, and where each source column and row goes. The callers fill them in their own loops (no per-pixel call).
 */
function areaBins(sw: number, sh: number, ow: number, oh: number) {
  return { sum: new Uint32Array(ow * oh), cnt: new Uint32Array(ow * oh), xs: binMap(sw, ow), ys: binMap(sh, oh) };
}

/** Each bin's average times `scale`, rounded (0 for an empty bin). */
function binAverages(sum: Uint32Array, cnt: Uint32Array, scale: number): Uint8Array {
  const out = new Uint8Array(sum.length);
  for (let i = 0; i < out.length; i++) out[i] = cnt[i] ? Math.round((scale * sum[i]) / cnt[i]) : 0;
  return out;
}

/** Area-average the windowed image onto the output grid: every source pixel goes through the LUT once. */
function reduceGrey(pixels: Uint16Array, lut: Uint8Array, sw: number, sh: number, ow: number, oh: number): Uint8Array {
  const { sum, cnt, xs, ys } = areaBins(sw, sh, ow, oh);
  for (let y = 0; y < sh; y++) {
    const oy = ys[y] * ow;
    const row = y * sw;
    for (let x = 0; x < sw; x++) {
      const o = oy + xs[x];
      sum[o] += lut[pixels[row + x]];
      cnt[o]++;
    }
  }
  return binAverages(sum, cnt, 1);
}

/** The share (0..255) of each output pixel a bit-packed mask covers, read straight from the packed bits. */
function reduceMask(packed: Uint8Array, sw: number, sh: number, ow: number, oh: number): Uint8Array {
  const { sum, cnt, xs, ys } = areaBins(sw, sh, ow, oh);
  for (let y = 0; y < sh; y++) {
    const oy = ys[y] * ow;
    let bit = y * sw;
    for (let x = 0; x < sw; x++, bit++) {
      const o = oy + xs[x];
      cnt[o]++;
      const byte = packed[bit >> 3];
      if (byte !== 0 && byte & (0x80 >> (bit & 7))) sum[o]++;
    }
  }
  return binAverages(sum, cnt, 255);
}

function paint(rgb: Uint8Array, i: number, c: [number, number, number]): void {
  rgb[i * 3] = c[0];
  rgb[i * 3 + 1] = c[1];
  rgb[i * 3 + 2] = c[2];
}

/** Draw the edge of a (reduced) mask two pixels wide. */
function drawOutline(rgb: Uint8Array, cover: Uint8Array, w: number, h: number, colour: [number, number, number]): void {
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && cover[y * w + x] >= 128;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!inside(x, y)) continue;
      let edge = false;
      for (let d = 1; d <= 2 && !edge; d++) edge = !inside(x - d, y) || !inside(x + d, y) || !inside(x, y - d) || !inside(x, y + d);
      if (edge) paint(rgb, y * w + x, colour);
    }
  }
}

function drawBox(rgb: Uint8Array, w: number, h: number, b: { x: number; y: number; w: number; h: number }, colour: [number, number, number], thick = 3): void {
  const x0 = Math.max(0, Math.round(b.x));
  const y0 = Math.max(0, Math.round(b.y));
  const x1 = Math.min(w - 1, Math.round(b.x + b.w));
  const y1 = Math.min(h - 1, Math.round(b.y + b.h));
  for (let t = 0; t < thick; t++) {
    for (let x = x0; x <= x1; x++) {
      if (y0 + t < h) paint(rgb, (y0 + t) * w + x, colour);
      if (y1 - t >= 0) paint(rgb, (y1 - t) * w + x, colour);
    }
    for (let y = y0; y <= y1; y++) {
      if (x0 + t < w) paint(rgb, y * w + x0 + t, colour);
      if (x1 - t >= 0) paint(rgb, y * w + x1 - t, colour);
    }
  }
}

/** The key image with its overlays; `findings` are numbered from 1 in the order given. */
export function renderKeyImage(input: ExportInput, findings: Finding[], maxSide = RENDER_MAX_SIDE): RenderedImage {
  const { rows, columns, pixels } = input.image;
  const scale = Math.min(1, maxSide / Math.max(rows, columns));
  const ow = Math.max(1, Math.round(columns * scale));
  const oh = Math.max(1, Math.round(rows * scale));
  const small = reduceGrey(pixels, windowLut(input.image), columns, rows, ow, oh);
  const rgb = new Uint8Array(ow * oh * 3);
  for (let i = 0; i < small.length; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = small[i];
  for (const m of input.masks) {
    if (m.label === 'lesion' || m.width !== columns || m.height !== rows) continue;
    drawOutline(rgb, reduceMask(m.packed, columns, rows, ow, oh), ow, oh, rgbOf(MASK_COLOURS[m.label]));
  }
  const boxes: RenderedImage['boxes'] = [];
  findings.forEach((f, i) => {
    const colour = rgbOf(FINDING_COLOURS[f.state]);
    const b = { x: f.x * (ow / columns), y: f.y * (oh / rows), w: f.w * (ow / columns), h: f.h * (oh / rows) };
    drawBox(rgb, ow, oh, b, colour, Math.max(2, Math.round(ow / 400)));
    boxes.push({ n: i + 1, ...b, colour });
  });
  return { rgb, width: ow, height: oh, boxes };
}
