// From the network's outputs to what a reader sees, in ORIGINAL image pixel coordinates: TB score and class
// probabilities, CenterNet boxes (peak picking, threshold, class-wise NMS), right/left lung outlines (largest
// component, traced along pixel edges, Douglas–Peucker), lung zones per box, and the coarse evidence grid.
import { toSource, toLetterbox, type Letterbox } from './preprocess';

export interface Probability {
  name: string;
  p: number;
}

export interface Box {
  /** top-left corner, width and height in original image pixels */
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
  score: number;
}

export type Point = [number, number];

export interface LungZone {
  /** index into boxes */
  box: number;
  /** the patient's side (right lung = image left on a PA view) */
  side: 'right' | 'left';
  zone: 'upper' | 'middle' | 'lower';
  /** fraction of the box's area inside that lung (0 when the image-halves fallback decided) */
  overlap: number;
  method: 'lung_mask' | 'image_halves';
}

export interface EvidenceGrid {
  /** width*height values, row-major, 0..255 = evidence 0..1 */
  grid: Uint8Array;
  width: number;
  height: number;
  /** original-pixel position of the grid's top-left corner and the size of one cell (the grid covers padding too) */
  origin: Point;
  cell: Point;
}

export function softmax(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  const e = Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i] - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Box in letterbox pixels, before mapping back. */
export interface LbBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  score: number;
  cls: number;
}

/** CenterNet decode (models/training/metrics.py decode_centernet): 3×3 peaks, top-k, boxes in letterbox px. */
export function decodeCenterNet(hm: Float32Array, C: number, R: number, wh: Float32Array, off: Float32Array, stride: number, topK: number, minScore: number): LbBox[] {
  const cand: { s: number; c: number; p: number }[] = [];
  const RR = R * R;
  for (let c = 0; c < C; c++) {
    const base = c * RR;
    for (let y = 0; y < R; y++) {
      for (let x = 0; x < R; x++) {
        const v = hm[base + y * R + x];
        if (!(v >= minScore)) continue;
        let peak = true;
        for (let dy = -1; dy <= 1 && peak; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= R) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= R) continue;
            if (hm[base + yy * R + xx] > v) {
              peak = false;
              break;
            }
          }
        }
        if (peak) cand.push({ s: v, c, p: y * R + x });
      }
    }
  }
  cand.sort((a, b) => b.s - a.s);
  return cand.slice(0, topK).map(({ s, c, p }) => {
    const iy = Math.floor(p / R);
    const ix = p % R;
    const cx = (ix + off[p]) * stride;
    const cy = (iy + off[RR + p]) * stride;
    const w = wh[p];
    const h = wh[RR + p];
    return { x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2, score: s, cls: c };
  });
}

export function iou(a: { x0: number; y0: number; x1: number; y1: number }, b: { x0: number; y0: number; x1: number; y1: number }): number {
  const iw = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const ih = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return ua > 0 ? inter / ua : 0;
}

/** Greedy non-maximum suppression within each class. */
export function nmsByClass<T extends LbBox>(boxes: T[], iouThr = 0.5): T[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const b of sorted) if (!kept.some((k) => k.cls === b.cls && iou(k, b) > iouThr)) kept.push(b);
  return kept;
}

/** Letterbox box → original-pixel {x,y,w,h}, clipped to the image. */
export function boxToSource(g: Letterbox, b: LbBox, label: string): Box {
  const [ax, ay] = toSource(g, b.x0, b.y0);
  const [bx, by] = toSource(g, b.x1, b.y1);
  const x0 = Math.max(0, Math.min(g.srcW, ax));
  const y0 = Math.max(0, Math.min(g.srcH, ay));
  const x1 = Math.max(0, Math.min(g.srcW, bx));
  const y1 = Math.max(0, Math.min(g.srcH, by));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, label, score: b.score };
}

/** Lung label map at letterbox resolution: logits [3, L, L] upsampled bilinearly (align_corners=False) then argmax;
 * labels outside the image area (letterbox padding) are cleared. */
export function lungLabelMap(logits: Float32Array, nCls: number, L: number, g: Letterbox): Uint8Array {
  const S = g.size;
  const scale = L / S;
  const out = new Uint8Array(S * S);
  const i0 = new Int32Array(S);
  const i1 = new Int32Array(S);
  const lam = new Float64Array(S);
  for (let o = 0; o < S; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const a = Math.min(Math.floor(src), L - 1);
    i0[o] = a;
    i1[o] = Math.min(a + 1, L - 1);
    lam[o] = src - a;
  }
  const LL = L * L;
  for (let y = Math.max(0, g.padY); y < Math.min(S, g.padY + g.newH); y++) {
    const y0 = i0[y] * L;
    const y1 = i1[y] * L;
    const ly = lam[y];
    for (let x = Math.max(0, g.padX); x < Math.min(S, g.padX + g.newW); x++) {
      const x0 = i0[x];
      const x1 = i1[x];
      const lx = lam[x];
      let best = 0;
      let bv = -Infinity;
      for (let c = 0; c < nCls; c++) {
        const b = c * LL;
        const top = logits[b + y0 + x0] * (1 - lx) + logits[b + y0 + x1] * lx;
        const bot = logits[b + y1 + x0] * (1 - lx) + logits[b + y1 + x1] * lx;
        const v = top * (1 - ly) + bot * ly;
        if (v > bv) {
          bv = v;
          best = c;
        }
      }
      out[y * S + x] = best;
    }
  }
  return out;
}

/** Keep only the largest 4-connected component of `label` (others set to 0 in a copy); returns the mask 0/1. */
export function largestComponent(map: Uint8Array, W: number, H: number, label: number): Uint8Array {
  const comp = new Int32Array(W * H).fill(-1);
  const stack = new Int32Array(W * H);
  let bestId = -1;
  let bestSize = 0;
  let id = 0;
  for (let p = 0; p < W * H; p++) {
    if (map[p] !== label || comp[p] !== -1) continue;
    let sp = 0;
    let size = 0;
    stack[sp++] = p;
    comp[p] = id;
    while (sp > 0) {
      const q = stack[--sp];
      size++;
      const x = q % W;
      if (x > 0 && comp[q - 1] === -1 && map[q - 1] === label) { comp[q - 1] = id; stack[sp++] = q - 1; }
      if (x < W - 1 && comp[q + 1] === -1 && map[q + 1] === label) { comp[q + 1] = id; stack[sp++] = q + 1; }
      if (q >= W && comp[q - W] === -1 && map[q - W] === label) { comp[q - W] = id; stack[sp++] = q - W; }
      if (q + W < W * H && comp[q + W] === -1 && map[q + W] === label) { comp[q + W] = id; stack[sp++] = q + W; }
    }
    if (size > bestSize) {
      bestSize = size;
      bestId = id;
    }
    id++;
  }
  const out = new Uint8Array(W * H);
  if (bestId >= 0) for (let p = 0; p < W * H; p++) if (comp[p] === bestId) out[p] = 1;
  return out;
}

/** Outer boundary of the component containing the first set pixel (raster order), traced along pixel edges
 * (vertices are pixel corners, so the polygon encloses exactly the traced pixels); clockwise on screen. */
export function traceOuterContour(mask: Uint8Array, W: number, H: number): Point[] {
  let start = -1;
  for (let p = 0; p < W * H; p++) if (mask[p]) { start = p; break; }
  if (start < 0) return [];
  const at = (x: number, y: number) => x >= 0 && y >= 0 && x < W && y < H && mask[y * W + x] === 1;
  const sx = start % W;
  const sy = Math.floor(start / W);
  let x = sx;
  let y = sy;
  let dx = 1;
  let dy = 0;
  const pts: Point[] = [[x, y]];
  const limit = 4 * (W + 1) * (H + 1);
  for (let step = 0; step < limit; step++) {
    x += dx;
    y += dy;
    // the two pixels ahead of vertex (x, y) in direction (dx, dy): ahead-left and ahead-right (fg kept on the right)
    let al: boolean, ar: boolean;
    if (dx === 1) { al = at(x, y - 1); ar = at(x, y); }
    else if (dy === 1) { al = at(x, y); ar = at(x - 1, y); }
    else if (dx === -1) { al = at(x - 1, y); ar = at(x - 1, y - 1); }
    else { al = at(x - 1, y - 1); ar = at(x, y - 1); }
    let ndx = dx;
    let ndy = dy;
    if (!ar) { ndx = -dy; ndy = dx; } // turn right
    else if (al) { ndx = dy; ndy = -dx; } // turn left
    if (x === sx && y === sy && ndx === 1 && ndy === 0) break;
    if (ndx !== dx || ndy !== dy) pts.push([x, y]);
    dx = ndx;
    dy = ndy;
  }
  return pts;
}

function perpDist(p: Point, a: Point, b: Point): number {
  const vx = b[0] - a[0];
  const vy = b[1] - a[1];
  const len = Math.hypot(vx, vy);
  if (len === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  return Math.abs(vx * (a[1] - p[1]) - vy * (a[0] - p[0])) / len;
}

/** Douglas–Peucker on an open polyline. */
export function douglasPeucker(pts: Point[], eps: number): Point[] {
  if (pts.length < 3) return pts.slice();
  const keep = new Uint8Array(pts.length);
  keep[0] = keep[pts.length - 1] = 1;
  const stack: [number, number][] = [[0, pts.length - 1]];
  while (stack.length) {
    const [i, j] = stack.pop()!;
    let dmax = -1;
    let k = -1;
    for (let m = i + 1; m < j; m++) {
      const d = perpDist(pts[m], pts[i], pts[j]);
      if (d > dmax) { dmax = d; k = m; }
    }
    if (k >= 0 && dmax > eps) {
      keep[k] = 1;
      stack.push([i, k], [k, j]);
    }
  }
  return pts.filter((_, i) => keep[i]);
}

/** Douglas–Peucker on a closed ring (split at the vertex farthest from the first). */
export function simplifyRing(ring: Point[], eps: number): Point[] {
  if (ring.length <= 4) return ring.slice();
  let far = 0;
  let dmax = -1;
  for (let i = 1; i < ring.length; i++) {
    const d = Math.hypot(ring[i][0] - ring[0][0], ring[i][1] - ring[0][1]);
    if (d > dmax) { dmax = d; far = i; }
  }
  const a = douglasPeucker(ring.slice(0, far + 1), eps);
  const b = douglasPeucker([...ring.slice(far), ring[0]], eps);
  return [...a.slice(0, -1), ...b.slice(0, -1)];
}

/** Area-weighted rasterisation: 1 where the pixel centre lies inside the polygon (even-odd rule). */
export function rasterizePolygon(poly: Point[], W: number, H: number, out = new Uint8Array(W * H), value = 1): Uint8Array {
  if (poly.length < 3) return out;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const [, y] of poly) { ymin = Math.min(ymin, y); ymax = Math.max(ymax, y); }
  const y0 = Math.max(0, Math.floor(ymin));
  const y1 = Math.min(H - 1, Math.ceil(ymax));
  const xs: number[] = [];
  for (let y = y0; y <= y1; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i];
      const [xj, yj] = poly[j];
      if ((yi > cy) !== (yj > cy)) xs.push(xi + ((cy - yi) * (xj - xi)) / (yj - yi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const xa = Math.max(0, Math.ceil(xs[k] - 0.5));
      const xb = Math.min(W - 1, Math.floor(xs[k + 1] - 0.5));
      for (let x = xa; x <= xb; x++) out[y * W + x] = value;
    }
  }
  return out;
}

export interface LungMasks {
  /** letterbox-resolution masks (S×S, 0/1) of the largest right and left lung components */
  right: Uint8Array;
  left: Uint8Array;
  size: number;
}

export function lungMasks(labels: Uint8Array, S: number, rightLabel = 1, leftLabel = 2): LungMasks {
  return { right: largestComponent(labels, S, S, rightLabel), left: largestComponent(labels, S, S, leftLabel), size: S };
}

/** A lung mask (letterbox) → simplified polygon in original pixel coordinates. */
export function lungPolygon(mask: Uint8Array, g: Letterbox, eps = 1.0): Point[] {
  const ring = traceOuterContour(mask, g.size, g.size);
  if (ring.length < 3) return [];
  return simplifyRing(ring, eps).map(([x, y]) => {
    const [sx, sy] = toSource(g, x, y);
    return [round2(sx), round2(sy)] as Point;
  });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Assign each box to a lung and a vertical third of that lung by overlap with the lung masks (letterbox space). */
export function assignZones(boxes: Box[], masks: LungMasks, g: Letterbox): LungZone[] {
  const S = masks.size;
  const extent = (m: Uint8Array) => {
    let lo = -1;
    let hi = -1;
    for (let y = 0; y < S; y++) {
      const row = m.subarray(y * S, (y + 1) * S);
      if (row.some((v) => v === 1)) { if (lo < 0) lo = y; hi = y; }
    }
    return lo < 0 ? null : ([lo, hi + 1] as [number, number]);
  };
  const ext = { right: extent(masks.right), left: extent(masks.left) };
  const third = (y: number, lo: number, hi: number): 'upper' | 'middle' | 'lower' => {
    const t = (y - lo) / Math.max(1e-9, hi - lo);
    return t < 1 / 3 ? 'upper' : t < 2 / 3 ? 'middle' : 'lower';
  };
  return boxes.map((b, k) => {
    const [lx0, ly0] = toLetterbox(g, b.x, b.y);
    const [lx1, ly1] = toLetterbox(g, b.x + b.w, b.y + b.h);
    const xa = Math.max(0, Math.floor(lx0));
    const xb = Math.min(S, Math.ceil(lx1));
    const ya = Math.max(0, Math.floor(ly0));
    const yb = Math.min(S, Math.ceil(ly1));
    const area = Math.max(1, (xb - xa) * (yb - ya));
    let best: LungZone | null = null;
    for (const side of ['right', 'left'] as const) {
      const e = ext[side];
      if (!e) continue;
      const m = masks[side];
      const perThird = [0, 0, 0];
      let n = 0;
      for (let y = ya; y < yb; y++) {
        const t = third(y + 0.5, e[0], e[1]);
        const ti = t === 'upper' ? 0 : t === 'middle' ? 1 : 2;
        for (let x = xa; x < xb; x++) if (m[y * S + x]) { perThird[ti]++; n++; }
      }
      if (n === 0 || (best && n / area <= best.overlap)) continue;
      const ti = perThird.indexOf(Math.max(...perThird));
      best = { box: k, side, zone: (['upper', 'middle', 'lower'] as const)[ti], overlap: round4(n / area), method: 'lung_mask' };
    }
    if (best) return best;
    // No overlap with a lung (or no masks): the image's halves (image left = patient's right) and thirds of the
    // lungs' joint vertical extent, else of the image.
    const cx = b.x + b.w / 2;
    const cy = b.y + b.h / 2;
    const lo = Math.min(ext.right?.[0] ?? Infinity, ext.left?.[0] ?? Infinity);
    const hi = Math.max(ext.right?.[1] ?? -Infinity, ext.left?.[1] ?? -Infinity);
    const [, lcy] = toLetterbox(g, cx, cy);
    const zone = Number.isFinite(lo) ? third(Math.min(hi, Math.max(lo, lcy)), lo, hi) : third(cy, 0, g.srcH);
    return { box: k, side: cx < g.srcW / 2 ? 'right' : 'left', zone, overlap: 0, method: 'image_halves' };
  });
}

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

export function evidenceGrid(ev: Float32Array, R: number, stride: number, g: Letterbox): EvidenceGrid {
  const grid = new Uint8Array(R * R);
  for (let i = 0; i < R * R; i++) {
    const v = ev[i];
    grid[i] = Math.round(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
  }
  const [ox, oy] = toSource(g, 0, 0);
  return { grid, width: R, height: R, origin: [ox, oy], cell: [(stride * g.srcW) / g.newW, (stride * g.srcH) / g.newH] };
}
