// Which lung and which zone (upper, middle, lower third of that lung's height) a finding lies in, for findings the
// reader moved or added as well as the model's own: the report and the answers name zones, so every finding needs
// one, whatever its provenance. Lungs come from the reader's lung masks where the annotations have them, else from
// the model's lung outlines, else the image's halves (image left = patient's right on a frontal view).
import { rasterizePolygon, type Point } from '../inference/postprocess';
import { LUNG_ZONES, type LungSide, type LungZone } from '../../contract/presentation';

export type Side = LungSide;
export type Zone = LungZone;
export const ZONES: readonly Zone[] = LUNG_ZONES;
export type ZoneMethod = 'lung_mask' | 'lung_outline' | 'image_halves';

export interface BoxGeometry {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ZoneAssignment {
  side: Side;
  /** the zones the finding covers, upper to lower (the one holding most of it, and any other holding a third or more) */
  zones: Zone[];
  method: ZoneMethod;
}

/** Lung fields on a coarse grid (at most GRID cells a side): zone counting needs no finer detail. */
export interface LungField {
  width: number;
  height: number;
  /** grid cell size in image pixels */
  scale: number;
  gw: number;
  gh: number;
  right: Uint8Array | null;
  left: Uint8Array | null;
  /** [first row, last row + 1] of each lung on the grid */
  extent: { right: [number, number] | null; left: [number, number] | null };
  method: Exclude<ZoneMethod, 'image_halves'> | null;
}

const GRID = 256;
/** a zone other than the main one is named when it holds at least this share of the finding's lung pixels */
const SECOND_ZONE_SHARE = 1 / 3;

function grid(width: number, height: number): { scale: number; gw: number; gh: number } {
  const scale = Math.max(1, Math.max(width, height) / GRID);
  return { scale, gw: Math.max(1, Math.round(width / scale)), gh: Math.max(1, Math.round(height / scale)) };
}

function extentOf(m: Uint8Array | null, gw: number, gh: number): [number, number] | null {
  if (!m) return null;
  let lo = -1;
  let hi = -1;
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      if (m[y * gw + x]) {
        if (lo < 0) lo = y;
        hi = y;
        break;
      }
    }
  }
  return lo < 0 ? null : [lo, hi + 1];
}

function field(width: number, height: number, right: Uint8Array | null, left: Uint8Array | null, method: LungField['method']): LungField {
  const { scale, gw, gh } = grid(width, height);
  const extent = { right: extentOf(right, gw, gh), left: extentOf(left, gw, gh) };
  const any = extent.right || extent.left;
  return { width, height, scale, gw, gh, right: extent.right ? right : null, left: extent.left ? left : null, extent, method: any ? method : null };
}

/** Lung fields from outlines in image pixels (the model's `lungs`, or a data set's ground-truth polygons). */
export function lungFieldFromPolygons(width: number, height: number, lungs: { right?: Point[] | null; left?: Point[] | null } | null): LungField {
  const { scale, gw, gh } = grid(width, height);
  const raster = (poly: Point[] | null | undefined) =>
    poly && poly.length >= 3 ? rasterizePolygon(poly.map(([x, y]) => [x / scale, y / scale] as Point), gw, gh) : null;
  return field(width, height, raster(lungs?.right), raster(lungs?.left), 'lung_outline');
}

/** Lung fields from full-resolution bit-packed masks (8 pixels a byte, MSB first, row-major), e.g. the reader's. */
export function lungFieldFromPackedMasks(width: number, height: number, right: Uint8Array[] | null, left: Uint8Array[] | null): LungField {
  const { scale, gw, gh } = grid(width, height);
  const sample = (packs: Uint8Array[] | null) => {
    if (!packs?.length) return null;
    const out = new Uint8Array(gw * gh);
    for (let gy = 0; gy < gh; gy++) {
      const y = Math.min(height - 1, Math.floor((gy + 0.5) * scale));
      for (let gx = 0; gx < gw; gx++) {
        const x = Math.min(width - 1, Math.floor((gx + 0.5) * scale));
        const bit = y * width + x;
        for (const p of packs) {
          if ((p[bit >> 3] >> (7 - (bit & 7))) & 1) {
            out[gy * gw + gx] = 1;
            break;
          }
        }
      }
    }
    return out;
  };
  return field(width, height, sample(right), sample(left), 'lung_mask');
}

function third(y: number, lo: number, hi: number): number {
  const t = (y - lo) / Math.max(1e-9, hi - lo);
  return t < 1 / 3 ? 0 : t < 2 / 3 ? 1 : 2;
}

/** The lung and zones of one box (image pixels). */
export function assignZone(box: BoxGeometry, f: LungField): ZoneAssignment {
  const { gw, gh, scale } = f;
  const xa = Math.max(0, Math.floor(box.x / scale));
  const xb = Math.min(gw, Math.max(xa + 1, Math.ceil((box.x + box.w) / scale)));
  const ya = Math.max(0, Math.floor(box.y / scale));
  const yb = Math.min(gh, Math.max(ya + 1, Math.ceil((box.y + box.h) / scale)));
  let best: { side: Side; n: number; perThird: number[] } | null = null;
  for (const side of ['right', 'left'] as const) {
    const m = f[side];
    const e = f.extent[side];
    if (!m || !e) continue;
    const perThird = [0, 0, 0];
    let n = 0;
    for (let y = ya; y < yb; y++) {
      const t = third(y + 0.5, e[0], e[1]);
      for (let x = xa; x < xb; x++) {
        if (m[y * gw + x]) {
          perThird[t]++;
          n++;
        }
      }
    }
    if (n > 0 && (!best || n > best.n)) best = { side, n, perThird };
  }
  if (best && f.method) {
    const top = Math.max(...best.perThird);
    const zones = ZONES.filter((_, i) => best.perThird[i] === top || best.perThird[i] >= SECOND_ZONE_SHARE * best.n);
    return { side: best.side, zones, method: f.method };
  }
  // Outside both lungs (or no lungs known): the image's halves, and thirds of the lungs' joint height (else the image's).
  const cx = box.x + box.w / 2;
  const cy = (box.y + box.h / 2) / scale;
  const los = [f.extent.right?.[0], f.extent.left?.[0]].filter((v): v is number => v !== undefined);
  const his = [f.extent.right?.[1], f.extent.left?.[1]].filter((v): v is number => v !== undefined);
  const lo = los.length ? Math.min(...los) : 0;
  const hi = his.length ? Math.max(...his) : gh;
  const t = third(Math.min(hi, Math.max(lo, cy)), lo, hi);
  return { side: cx < f.width / 2 ? 'right' : 'left', zones: [ZONES[t]], method: 'image_halves' };
}
