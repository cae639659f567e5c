// Window/level as a lookup table. Stored pixel values are unsigned 16-bit, so one table of 65,536 entries maps every
// possible stored value straight to an opaque RGBA grey (packed as one 32-bit word), with the rescale slope and
// intercept, the DICOM linear VOI function (PS3.3 C.11.2.1.2.1), MONOCHROME1 and the user's invert folded in. Applying
// it is then one load and one store per pixel: `out[i] = lut[px[i]]`.

export interface LutParams {
  center: number;
  width: number;
  slope: number;
  intercept: number;
  /** true when the displayed grey must be inverted (MONOCHROME1 XOR the user's invert) */
  flip: boolean;
}

export const LUT_SIZE = 65536;

/** Little-endian RGBA in one word: 0xAABBGGRR. Canvas ImageData is RGBA bytes; every platform we run on is little-endian. */
const littleEndian = new Uint8Array(new Uint32Array([0x01020304]).buffer)[0] === 0x04;

export function greyWord(g: number): number {
  return littleEndian ? ((0xff << 24) | (g << 16) | (g << 8) | g) >>> 0 : ((g << 24) | (g << 16) | (g << 8) | 0xff) >>> 0;
}

const WORDS = new Uint32Array(256).map((_, g) => greyWord(g));

/** Fills `lut` (65,536 packed RGBA words) for the given window. About 0.2 ms. */
export function buildLut(lut: Uint32Array, p: LutParams): Uint32Array {
  const w = Math.max(1, p.width);
  const c = p.center;
  const lo = c - 0.5 - (w - 1) / 2;
  const hi = c - 0.5 + (w - 1) / 2;
  const k = w > 1 ? 255 / (w - 1) : 0;
  const { slope, intercept, flip } = p;
  for (let s = 0; s < LUT_SIZE; s++) {
    const x = s * slope + intercept;
    let g: number;
    if (w <= 1) g = x > c - 0.5 ? 255 : 0;
    else if (x <= lo) g = 0;
    else if (x > hi) g = 255;
    else {
      g = ((x - (c - 0.5)) * k + 127.5) | 0;
      if (g > 255) g = 255;
      else if (g < 0) g = 0;
    }
    lut[s] = WORDS[flip ? 255 - g : g];
  }
  return lut;
}

/** The hot loop: one table look-up per pixel, into the ImageData's buffer seen as 32-bit words. */
export function applyLut(pixels: Uint16Array, lut: Uint32Array, out: Uint32Array): void {
  const n = pixels.length;
  for (let i = 0; i < n; i++) out[i] = lut[pixels[i]];
}

/** Stored values as a Uint16Array, copying only when the bytes are not 2-byte aligned (or not little-endian). */
export function toUint16(bytes: Uint8Array, count: number): Uint16Array {
  if (bytes.byteLength < count * 2) throw new Error(`Pixel data is short: ${bytes.byteLength} bytes for ${count} pixels.`);
  if (littleEndian && bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Uint16Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  for (let i = 0; i < count; i++) out[i] = dv.getUint16(i * 2, true);
  return out;
}
