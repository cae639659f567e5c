// Masks at full image resolution, the painting operations the tools call (brush, polygon fill, flood fill), and the
// compact diffs the edit history keeps of them: the bounding box of changed pixels, before and after, run-length coded.
//
// A mask is one byte per pixel (0 or 1), not bit-packed: brush and fill inner loops become `Uint8Array.fill` over row
// spans, the canvas layer copies bytes straight into an ImageData alpha channel, and a 3000 x 3000 mask is 9 MB,
// affordable for the three masks of a case. Bit-packing (`packBits`) is only the storage and wire format, 8x smaller.
// Pure: no DOM, no Node.

export interface BBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface MaskPixels {
  width: number;
  height: number;
  /** width * height bytes, row-major, 0 = outside, 1 = inside */
  bits: Uint8Array;
}

export type Point = readonly [number, number];

export function unionBox(a: BBox | null, b: BBox | null): BBox | null {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

function clipBox(x0: number, y0: number, x1: number, y1: number, m: { width: number; height: number }): BBox | null {
  x0 = Math.max(0, x0);
  y0 = Math.max(0, y0);
  x1 = Math.min(m.width, x1);
  y1 = Math.min(m.height, y1);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
}

// ---- run-length coding ------------------------------------------------------------------------------------
// Runs of (value byte, LEB128 length). Mask patches are long runs of 0 and 1, so a stroke's patch is a few bytes a row.

export function encodeRle(src: Uint8Array): Uint8Array {
  let out = new Uint8Array(Math.max(16, src.length >>> 6));
  let o = 0;
  const n = src.length;
  // Long runs are skipped four bytes at a time (a mask row is thousands of equal bytes): words from the first byte
  // of src that sits on a 4-byte boundary of its buffer.
  const skip = (4 - (src.byteOffset & 3)) & 3;
  const words = n > skip ? new Uint32Array(src.buffer, src.byteOffset + skip, (n - skip) >>> 2) : new Uint32Array(0);
  let i = 0;
  while (i < n) {
    const v = src[i];
    let j = i + 1;
    while (j < n && ((j - skip) & 3) !== 0 && src[j] === v) j++;
    if (j >= skip && ((j - skip) & 3) === 0) {
      const vw = (v * 0x01010101) >>> 0;
      let w = (j - skip) >>> 2;
      while (w < words.length && words[w] === vw) w++;
      j = Math.max(j, skip + (w << 2));
    }
    while (j < n && src[j] === v) j++;
    let len = j - i;
    if (o + 8 > out.length) {
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    out[o++] = v;
    while (len >= 0x80) {
      out[o++] = (len & 0x7f) | 0x80;
      len = Math.floor(len / 128);
    }
    out[o++] = len;
    i = j;
  }
  return out.slice(0, o);
}

/** Decode into `out`, which must have exactly the encoded length. */
export function decodeRle(enc: Uint8Array, out: Uint8Array): Uint8Array {
  let o = 0;
  let i = 0;
  while (i < enc.length) {
    const v = enc[i++];
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = enc[i++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    if (o + len > out.length) throw new Error('run-length data longer than its mask patch');
    out.fill(v, o, o + len);
    o += len;
  }
  if (o !== out.length) throw new Error('run-length data shorter than its mask patch');
  return out;
}

// ---- patches and diffs --------------------------------------------------------------------------------------

export function readPatch(mask: MaskPixels, box: BBox): Uint8Array {
  const out = new Uint8Array(box.w * box.h);
  for (let r = 0; r < box.h; r++) {
    const from = (box.y + r) * mask.width + box.x;
    out.set(mask.bits.subarray(from, from + box.w), r * box.w);
  }
  return out;
}

export function writePatch(mask: MaskPixels, box: BBox, patch: Uint8Array): void {
  for (let r = 0; r < box.h; r++) mask.bits.set(patch.subarray(r * box.w, (r + 1) * box.w), (box.y + r) * mask.width + box.x);
}

/** The changed region of one mask edit: before and after patches of its bounding box, run-length coded. */
export interface MaskDiff {
  box: BBox;
  before: Uint8Array;
  after: Uint8Array;
  /** bytes this diff holds, for the history's memory budget */
  byteSize: number;
}

/** The box of pixels that differ between `before` (a patch of `box`) and what the mask holds there now. */
export function changedBox(mask: MaskPixels, box: BBox, before: Uint8Array): BBox | null {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let r = 0; r < box.h; r++) {
    const row = (box.y + r) * mask.width + box.x;
    const prow = r * box.w;
    let first = -1, last = -1;
    for (let c = 0; c < box.w; c++) {
      if (mask.bits[row + c] !== before[prow + c]) {
        if (first < 0) first = c;
        last = c;
      }
    }
    if (first >= 0) {
      if (r < y0) y0 = r;
      y1 = r;
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
    }
  }
  return x1 < 0 ? null : { x: box.x + x0, y: box.y + y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** The diff between `before` (a patch of `box`) and what the mask holds there now, shrunk to the changed pixels. */
export function diffFromPatch(mask: MaskPixels, box: BBox, before: Uint8Array): MaskDiff | null {
  const tight = changedBox(mask, box, before);
  if (!tight) return null;
  const b = new Uint8Array(tight.w * tight.h);
  const x0 = tight.x - box.x;
  for (let r = 0; r < tight.h; r++) {
    const src = (tight.y - box.y + r) * box.w + x0;
    b.set(before.subarray(src, src + tight.w), r * tight.w);
  }
  return makeDiff(tight, b, readPatch(mask, tight));
}

function makeDiff(box: BBox, before: Uint8Array, after: Uint8Array): MaskDiff {
  const b = encodeRle(before);
  const a = encodeRle(after);
  return { box, before: b, after: a, byteSize: b.byteLength + a.byteLength + 64 };
}

/** Put the diff's before (undo) or after (redo) pixels back into the mask. */
export function applyDiff(mask: MaskPixels, diff: MaskDiff, direction: 'undo' | 'redo'): void {
  const patch = decodeRle(direction === 'undo' ? diff.before : diff.after, new Uint8Array(diff.box.w * diff.box.h));
  writePatch(mask, diff.box, patch);
}

const TILE = 64;

/**
 * One mask edit in progress (a brush stroke of many ticks, a fill): before painting a region, `touch` it, and the
 * 64 x 64 tiles it covers are copied once. `finish` turns the copies into a diff of the changed pixels only, so a
 * stroke costs memory for the tiles it crossed, never a copy of the whole mask.
 */
export class MaskEdit {
  private readonly tiles = new Map<number, Uint8Array>();
  private readonly cols: number;
  private touched: BBox | null = null;

  constructor(readonly mask: MaskPixels) {
    this.cols = Math.ceil(mask.width / TILE);
  }

  get byteSize(): number {
    return this.tiles.size * TILE * TILE;
  }

  touch(box: BBox | null): void {
    if (!box) return;
    const { mask } = this;
    const clipped = clipBox(box.x, box.y, box.x + box.w, box.y + box.h, mask);
    if (!clipped) return;
    this.touched = unionBox(this.touched, clipped);
    for (let ty = Math.floor(clipped.y / TILE); ty * TILE < clipped.y + clipped.h; ty++) {
      for (let tx = Math.floor(clipped.x / TILE); tx * TILE < clipped.x + clipped.w; tx++) {
        const key = ty * this.cols + tx;
        if (this.tiles.has(key)) continue;
        const tb = clipBox(tx * TILE, ty * TILE, (tx + 1) * TILE, (ty + 1) * TILE, mask)!;
        this.tiles.set(key, readPatch(mask, tb));
      }
    }
  }

  /** The diff of everything painted since the first touch, or null when no pixel changed. */
  finish(): MaskDiff | null {
    const { mask } = this;
    if (!this.touched) return null;
    let changed: BBox | null = null;
    for (const [key, before] of this.tiles) {
      const tb = this.tileBox(key);
      changed = unionBox(changed, changedBox(mask, tb, before));
    }
    if (!changed) return null;
    // Before pixels of the changed box: from the tile copies where a tile was touched, else the mask (unchanged there).
    const before = readPatch(mask, changed);
    for (const [key, tile] of this.tiles) {
      const tb = this.tileBox(key);
      const ix = clipBox(Math.max(tb.x, changed.x), Math.max(tb.y, changed.y), Math.min(tb.x + tb.w, changed.x + changed.w), Math.min(tb.y + tb.h, changed.y + changed.h), mask);
      if (!ix) continue;
      for (let r = 0; r < ix.h; r++) {
        const src = (ix.y - tb.y + r) * tb.w + (ix.x - tb.x);
        before.set(tile.subarray(src, src + ix.w), (ix.y - changed.y + r) * changed.w + (ix.x - changed.x));
      }
    }
    return makeDiff(changed, before, readPatch(mask, changed));
  }

  private tileBox(key: number): BBox {
    const tx = key % this.cols;
    const ty = Math.floor(key / this.cols);
    return clipBox(tx * TILE, ty * TILE, (tx + 1) * TILE, (ty + 1) * TILE, this.mask)!;
  }
}

// ---- painting operations -------------------------------------------------------------------------------------
// Coordinates are image pixels; pixel (x, y) covers [x, x+1) x [y, y+1) and is inside a shape when its centre is.
// Each operation writes `value` (1 paints, 0 erases) and returns the box it may have touched, or null.

/** The box a brush stroke of `radius` along `points` can touch (for `MaskEdit.touch` before painting). */
export function strokeBounds(mask: { width: number; height: number }, points: readonly Point[], radius: number): BBox | null {
  if (points.length === 0) return null;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return clipBox(Math.floor(x0 - radius), Math.floor(y0 - radius), Math.ceil(x1 + radius) + 1, Math.ceil(y1 + radius) + 1, mask);
}

export function stampDisc(mask: MaskPixels, cx: number, cy: number, radius: number, value: number): void {
  const { width, height, bits } = mask;
  const r2 = radius * radius;
  const ya = Math.max(0, Math.ceil(cy - radius - 0.5));
  const yb = Math.min(height - 1, Math.floor(cy + radius - 0.5));
  for (let y = ya; y <= yb; y++) {
    const dy = y + 0.5 - cy;
    const half = Math.sqrt(r2 - dy * dy);
    const xa = Math.max(0, Math.ceil(cx - half - 0.5));
    const xb = Math.min(width - 1, Math.floor(cx + half - 0.5));
    if (xb >= xa) bits.fill(value, y * width + xa, y * width + xb + 1);
  }
}

/** Discs of `radius` along the polyline, spaced at most a quarter radius apart so that a fast drag leaves no gaps. */
export function brushStroke(mask: MaskPixels, points: readonly Point[], radius: number, value: number): BBox | null {
  if (points.length === 0 || radius <= 0) return null;
  const step = Math.max(0.5, radius / 4);
  stampDisc(mask, points[0][0], points[0][1], radius, value);
  for (let i = 1; i < points.length; i++) {
    const [ax, ay] = points[i - 1];
    const [bx, by] = points[i];
    const n = Math.ceil(Math.hypot(bx - ax, by - ay) / step);
    for (let k = 1; k <= n; k++) stampDisc(mask, ax + ((bx - ax) * k) / n, ay + ((by - ay) * k) / n, radius, value);
  }
  return strokeBounds(mask, points, radius);
}

export function polygonBounds(mask: { width: number; height: number }, points: readonly Point[]): BBox | null {
  return strokeBounds(mask, points, 0);
}

/** Scanline fill of a closed polygon (even-odd rule), e.g. a lasso or the model's lung outline. */
export function fillPolygon(mask: MaskPixels, points: readonly Point[], value: number): BBox | null {
  const box = polygonBounds(mask, points);
  if (!box || points.length < 3) return null;
  const { width, bits } = mask;
  const xs: number[] = [];
  for (let y = box.y; y < box.y + box.h; y++) {
    const yc = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i];
      const [xj, yj] = points[j];
      if (yi > yc !== yj > yc) xs.push(xi + ((yc - yi) * (xj - xi)) / (yj - yi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const xa = Math.max(0, Math.ceil(xs[k] - 0.5));
      const xb = Math.min(width, Math.ceil(xs[k + 1] - 0.5));
      if (xb > xa) bits.fill(value, y * width + xa, y * width + xb);
    }
  }
  return box;
}

/**
 * Fill the 4-connected region around (x, y) of pixels equal to the seed's, with `value`: "fill a closed region".
 * A region that reaches the image border is not closed, and is left alone (null), so that a click outside an
 * outline does not flood the whole image.
 */
export function floodFill(mask: MaskPixels, x: number, y: number, value: number): BBox | null {
  const { width, height, bits } = mask;
  x = Math.floor(x);
  y = Math.floor(y);
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  const target = bits[y * width + x];
  if (target === value) return null;
  // Mark the region with a value that is neither, then commit it or, if it is open, put the target back.
  let mark = 255;
  while (mark === target || mark === value) mark--;
  const stack: number[] = [x, y];
  let x0 = x, x1 = x, y0 = y, y1 = y;
  let open = false;
  while (stack.length) {
    const sy = stack.pop()!;
    const sx = stack.pop()!;
    const row = sy * width;
    if (bits[row + sx] !== target) continue;
    let a = sx;
    while (a > 0 && bits[row + a - 1] === target) a--;
    let b = sx;
    while (b < width - 1 && bits[row + b + 1] === target) b++;
    bits.fill(mark, row + a, row + b + 1);
    if (a === 0 || b === width - 1 || sy === 0 || sy === height - 1) open = true;
    if (a < x0) x0 = a;
    if (b > x1) x1 = b;
    if (sy < y0) y0 = sy;
    if (sy > y1) y1 = sy;
    for (const ny of [sy - 1, sy + 1]) {
      if (ny < 0 || ny >= height) continue;
      const nrow = ny * width;
      let inRun = false;
      for (let c = a; c <= b; c++) {
        const hit = bits[nrow + c] === target;
        if (hit && !inRun) stack.push(c, ny);
        inRun = hit;
      }
    }
  }
  const box = { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
  const final = open ? target : value;
  for (let r = box.y; r < box.y + box.h; r++) {
    for (let i = r * width + box.x, end = i + box.w; i < end; i++) if (bits[i] === mark) bits[i] = final;
  }
  return open ? null : box;
}

// ---- storage format --------------------------------------------------------------------------------------------

/**
 * 8 pixels a byte, most significant bit first, row-major over the whole image: ceil(width * height / 8) bytes.
 * Pixels must be 0 or 1 (as every operation here writes them).
 */
export function packBits(bits: Uint8Array): Uint8Array {
  const n = bits.length;
  const out = new Uint8Array((n + 7) >>> 3);
  const whole = n >>> 3;
  if (bits.byteOffset % 4 === 0) {
    // Four 0/1 bytes read as one little-endian word; one multiplication moves them into the top nibble, MSB first
    // (the other partial products land on distinct lower bits, so nothing carries into it).
    const words = new Uint32Array(bits.buffer, bits.byteOffset, whole * 2);
    for (let o = 0, w = 0; o < whole; o++, w += 2) {
      out[o] = ((Math.imul(words[w], 0x80402010) >>> 28) << 4) | (Math.imul(words[w + 1], 0x80402010) >>> 28);
    }
  } else {
    for (let o = 0, i = 0; o < whole; o++, i += 8) {
      out[o] = (bits[i] << 7) | (bits[i + 1] << 6) | (bits[i + 2] << 5) | (bits[i + 3] << 4) | (bits[i + 4] << 3) | (bits[i + 5] << 2) | (bits[i + 6] << 1) | bits[i + 7];
    }
  }
  for (let i = whole * 8; i < n; i++) if (bits[i]) out[whole] |= 128 >>> (i & 7);
  return out;
}

export function unpackBits(packed: Uint8Array, pixelCount: number): Uint8Array {
  if (packed.length !== (pixelCount + 7) >>> 3) throw new Error(`packed mask has ${packed.length} bytes, expected ${(pixelCount + 7) >>> 3}`);
  const out = new Uint8Array(pixelCount);
  for (let i = 0; i < pixelCount; i++) out[i] = (packed[i >>> 3] >>> (7 - (i & 7))) & 1;
  return out;
}
