// Test support: marks that X-ray units and careless workflows put on a film outside the thorax (a bright frame,
// burned-in text, a label block), drawn on a decoded image at its own resolution, away from the lungs.
import type { DecodedImage } from '../core/imaging/types';

/** 5 x 7 bitmap glyphs, one string of 35 bits per character (row-major, '1' = ink). */
const GLYPHS: Record<string, string> = {
  '0': '01110100011001110101110011000101110', '1': '00100011000010000100001000010001110',
  '2': '01110100010000100010001000100011111', '3': '11110000010000101110000010000111110',
  '4': '00010001100101010010111110001000010', '5': '11111100001111000001000011000101110',
  '6': '00110010001000011110100011000101110', '7': '11111000010001000100010000100001000',
  '8': '01110100011000101110100011000101110', '9': '01110100011000101111000010001001100',
  A: '01110100011000111111100011000110001', D: '11100100101000110001100011001011100',
  I: '01110001000010000100001000010001110', M: '10001110111010110101100011000110001',
  P: '11110100011000111110100001000010000', R: '11110100011000111110101001001010001',
  Y: '10001100010101000100001000010000100', '-': '00000000000000011111000000000000000',
  ':': '00000011000110000000011000110000000', ' ': '00000000000000000000000000000000000',
};

export type Corner = 'top_left' | 'top_right' | 'bottom_left' | 'bottom_right';
const CORNERS: Corner[] = ['top_right', 'top_left', 'bottom_right', 'bottom_left'];
type Rect = { x: number; y: number; w: number; h: number };

function copyOf(img: DecodedImage): DecodedImage {
  return { ...img, pixels: new Uint16Array(img.pixels) };
}

/** The brightest stored value for display (MONOCHROME1 shows its lowest value white). */
function white(img: DecodedImage): number {
  return img.photometric === 'MONOCHROME1' ? 0 : (1 << img.bitsStored) - 1;
}

function black(img: DecodedImage): number {
  return img.photometric === 'MONOCHROME1' ? (1 << img.bitsStored) - 1 : 0;
}

function fill(img: DecodedImage, r: Rect, v: number): void {
  for (let y = Math.max(0, r.y); y < Math.min(img.rows, r.y + r.h); y++) {
    img.pixels.fill(v, y * img.columns + Math.max(0, r.x), y * img.columns + Math.min(img.columns, r.x + r.w));
  }
}

function corner(c: Corner, W: number, H: number, w: number, h: number, margin: number): Rect {
  return { x: c.endsWith('left') ? margin : W - margin - w, y: c.startsWith('top') ? margin : H - margin - h, w, h };
}

/** True when no lung pixel (mask W x H) lies inside the rectangle grown by `grow` pixels. */
function clearOf(lungs: Uint8Array, W: number, H: number, r: Rect, grow: number): boolean {
  for (let y = Math.max(0, r.y - grow); y < Math.min(H, r.y + r.h + grow); y++) {
    for (let x = Math.max(0, r.x - grow); x < Math.min(W, r.x + r.w + grow); x++) if (lungs[y * W + x]) return false;
  }
  return true;
}

/** A bright frame 1.2 % of the longest side wide around the whole image. */
export function withFrame(img: DecodedImage): DecodedImage {
  const out = copyOf(img);
  const t = Math.max(2, Math.round(0.012 * Math.max(img.rows, img.columns)));
  const v = white(img);
  fill(out, { x: 0, y: 0, w: img.columns, h: t }, v);
  fill(out, { x: 0, y: img.rows - t, w: img.columns, h: t }, v);
  fill(out, { x: 0, y: 0, w: t, h: img.rows }, v);
  fill(out, { x: img.columns - t, y: 0, w: t, h: img.rows }, v);
  return out;
}

function drawText(img: DecodedImage, text: string, x0: number, y0: number, scale: number, v: number): void {
  [...text].forEach((ch, k) => {
    const g = GLYPHS[ch] ?? GLYPHS[' '];
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (g[gy * 5 + gx] === '1') fill(img, { x: x0 + (k * 6 + gx) * scale, y: y0 + gy * scale, w: scale, h: scale }, v);
      }
    }
  });
}

/**
 * Burned-in white text (an ID line and a date line) in corners clear of the lungs (`lungs`: W x H mask of the
 * lung fields), or null when no corner is clear.
 */
export function withText(img: DecodedImage, lungs: Uint8Array): DecodedImage | null {
  const W = img.columns;
  const H = img.rows;
  const scale = Math.max(1, Math.round((0.03 * H) / 7));
  const grow = Math.round(0.04 * Math.max(W, H));
  const margin = Math.round(0.02 * W);
  const out = copyOf(img);
  let used = 0;
  const taken: Corner[] = [];
  for (const text of ['ID 0042137 M 45Y', '2026-11-30 09:14 PA']) {
    const r = { w: text.length * 6 * scale, h: 7 * scale };
    const c = CORNERS.find((k) => !taken.includes(k) && clearOf(lungs, W, H, corner(k, W, H, r.w, r.h, margin), grow));
    if (!c) continue;
    const at = corner(c, W, H, r.w, r.h, margin);
    drawText(out, text, at.x, at.y, scale, white(img));
    taken.push(c);
    used++;
  }
  return used ? out : null;
}

/** A white label block (14 % x 7 % of the image) with a dark "R", in a corner clear of the lungs, or null. */
export function withLabel(img: DecodedImage, lungs: Uint8Array): DecodedImage | null {
  const W = img.columns;
  const H = img.rows;
  const w = Math.round(0.14 * W);
  const h = Math.round(0.07 * H);
  const c = CORNERS.find((k) => clearOf(lungs, W, H, corner(k, W, H, w, h, Math.round(0.02 * W)), Math.round(0.04 * Math.max(W, H))));
  if (!c) return null;
  const at = corner(c, W, H, w, h, Math.round(0.02 * W));
  const out = copyOf(img);
  fill(out, at, white(img));
  const scale = Math.max(1, Math.floor((0.7 * h) / 7));
  drawText(out, 'R', at.x + Math.round(w / 2 - 2.5 * scale), at.y + Math.round((h - 7 * scale) / 2), scale, black(img));
  return out;
}
