// The editor's layers over the image, drawn imperatively with Konva: the masks (lungs, lesions) as one full
// resolution RGBA canvas that a stroke updates only where it painted, the evidence heatmap, and the findings'
// boxes with their labels, scores and resize handles (in screen space, so that text and handles keep their size at
// any zoom). The viewer's engine calls `setTransform` on every frame it paints; an edit redraws only its own layer.
import Konva from 'konva';
import type { BBox } from '../editor/maskDiff';
import type { EditorDoc, Finding, MaskLabel } from '../editor/model';
import { CANDIDATE_COLOUR, FINDING_COLOURS, LESION_LABEL_NAMES, MASK_COLOURS, cssColour } from '../../../electron/contract/index';

export interface ViewTransform {
  /** stage position of the image's top-left corner */
  x: number;
  y: number;
  /** stage pixels per image column and per image row */
  sx: number;
  sy: number;
}

export interface OverlayLayers {
  masks: Konva.Layer;
  marks: Konva.Layer;
}

export interface Evidence {
  width: number;
  height: number;
  origin: [number, number];
  cell: [number, number];
  grid: Uint8Array;
}

export interface Preview {
  /** a box being drawn, in image pixels */
  box?: { x: number; y: number; w: number; h: number } | null;
  /** a lasso being traced, in image pixels */
  lasso?: readonly (readonly [number, number])[] | null;
  /** the brush outline under the pointer, in image pixels */
  brush?: { x: number; y: number; r: number; erase: boolean } | null;
}

export type HandleName = 'nw' | 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w';
export const HANDLES: HandleName[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];
export const HANDLE_PX = 9;

// The colours are the station's one set (contract/presentation), which the PDF legend names too.
const MASK_RGBA: Record<MaskLabel, readonly [number, number, number]> = {
  right_lung: MASK_COLOURS.right_lung.rgb,
  left_lung: MASK_COLOURS.left_lung.rgb,
  lesion: MASK_COLOURS.lesion.rgb,
};
const MASK_ALPHA = 85;

const STATE_STYLE = Object.fromEntries(
  (Object.keys(FINDING_COLOURS) as Finding['state'][]).map((s) => {
    const c: { dash?: readonly number[] } & Parameters<typeof cssColour>[0] = FINDING_COLOURS[s];
    return [s, { stroke: cssColour(c), dash: c.dash ? [...c.dash] : undefined }];
  }),
) as Record<Finding['state'], { stroke: string; dash?: number[] }>;

/** A region the model found some evidence in, below the score at which it proposes a box. */
export interface Candidate {
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
  score: number;
}

/** Where a finding's handle sits, in image pixels. */
export function handlePoint(f: { x: number; y: number; w: number; h: number }, h: HandleName): [number, number] {
  const cx = h.includes('w') ? f.x : h.includes('e') ? f.x + f.w : f.x + f.w / 2;
  const cy = h.includes('n') ? f.y : h.includes('s') ? f.y + f.h : f.y + f.h / 2;
  return [cx, cy];
}

export class OverlayRenderer {
  private readonly maskCanvas: HTMLCanvasElement;
  private readonly maskCtx: CanvasRenderingContext2D;
  private readonly maskData: ImageData;
  private readonly mask32: Uint32Array;
  private readonly maskImage: Konva.Image;
  private readonly heatImage: Konva.Image;
  private readonly marks: Konva.Group;
  private readonly previewGroup: Konva.Group;
  private t: ViewTransform = { x: 0, y: 0, sx: 1, sy: 1 };
  private doc: EditorDoc | null = null;
  private selected: string | null = null;
  private visible = { boxes: true, lungs: true, lesions: true, heatmap: false };
  private preview: Preview = {};
  private palette = new Uint32Array(8);

  constructor(
    private readonly layers: OverlayLayers,
    readonly width: number,
    readonly height: number,
  ) {
    this.maskCanvas = document.createElement('canvas');
    this.maskCanvas.width = width;
    this.maskCanvas.height = height;
    const ctx = this.maskCanvas.getContext('2d');
    if (!ctx) throw new Error('Canvas 2D is not available.');
    this.maskCtx = ctx;
    this.maskData = ctx.createImageData(width, height);
    this.mask32 = new Uint32Array(this.maskData.data.buffer);
    this.maskImage = new Konva.Image({ image: this.maskCanvas, listening: false, perfectDrawEnabled: false });
    layers.masks.add(this.maskImage);
    // Pixels stay crisp at every zoom (and nearest-neighbour sampling of a large canvas is the cheap one).
    layers.masks.imageSmoothingEnabled(false);
    this.heatImage = new Konva.Image({ image: undefined, listening: false, visible: false, perfectDrawEnabled: false });
    this.marks = new Konva.Group({ listening: false });
    this.previewGroup = new Konva.Group({ listening: false });
    layers.marks.add(this.heatImage, this.marks, this.previewGroup);
    this.buildPalette();
  }

  dispose(): void {
    this.maskImage.destroy();
    this.heatImage.destroy();
    this.marks.destroy();
    this.previewGroup.destroy();
  }

  // ---- inputs ----

  setTransform(t: ViewTransform, draw = true): void {
    this.t = t;
    this.maskImage.position({ x: t.x, y: t.y });
    this.maskImage.scale({ x: t.sx, y: t.sy });
    this.placeHeat();
    this.buildMarks();
    this.buildPreview();
    if (draw) {
      this.layers.masks.draw();
      this.layers.marks.draw();
    }
  }

  setVisibility(v: { boxes: boolean; lungs: boolean; lesions: boolean; heatmap: boolean }, heatOpacity: number): void {
    const masksChanged = v.lungs !== this.visible.lungs || v.lesions !== this.visible.lesions;
    this.visible = { ...v };
    this.heatImage.visible(v.heatmap && this.heatImage.image() !== undefined);
    this.heatImage.opacity(heatOpacity);
    if (masksChanged) {
      this.buildPalette();
      this.repaintMasks(null);
    }
    this.buildMarks();
    this.layers.marks.batchDraw();
  }

  setEvidence(ev: Evidence | null): void {
    if (!ev || ev.width <= 0 || ev.height <= 0) {
      this.heatImage.image(undefined);
      this.heatImage.visible(false);
      return;
    }
    const c = document.createElement('canvas');
    c.width = ev.width;
    c.height = ev.height;
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(ev.width, ev.height);
    // Stretched to the grid's own maximum: the map shows where the model looked, relative to its strongest evidence.
    let max = 1;
    for (let i = 0; i < ev.width * ev.height; i++) max = Math.max(max, ev.grid[i] ?? 0);
    for (let i = 0; i < ev.width * ev.height; i++) {
      const v = Math.round(((ev.grid[i] ?? 0) * 255) / max);
      // Transparent where the model saw nothing, through yellow to red where it saw most.
      img.data[i * 4] = 255;
      img.data[i * 4 + 1] = Math.round(230 - 0.8 * v);
      img.data[i * 4 + 2] = 0;
      img.data[i * 4 + 3] = v;
    }
    ctx.putImageData(img, 0, 0);
    this.heatImage.image(c);
    this.heatEv = ev;
    this.placeHeat();
    this.heatImage.visible(this.visible.heatmap);
    this.layers.marks.batchDraw();
  }
  private heatEv: Evidence | null = null;

  /** The low-confidence regions to outline (shown with the boxes layer; empty: none). */
  setCandidates(list: readonly Candidate[]): void {
    this.candidates = list;
    this.buildMarks();
    this.layers.marks.batchDraw();
  }
  private candidates: readonly Candidate[] = [];

  setDoc(doc: EditorDoc, selected: string | null): void {
    this.doc = doc;
    this.selected = selected;
    this.buildMarks();
    this.layers.marks.batchDraw();
  }

  setPreview(p: Preview): void {
    this.preview = p;
    this.buildPreview();
    this.layers.marks.batchDraw();
  }

  /**
   * Recolour the masks in `box` (image pixels; null: everywhere) from the document's bits and draw the masks layer
   * now, so that a stroke's pixels are on screen when this returns.
   */
  repaintMasks(box: BBox | null, draw = true): void {
    const doc = this.doc;
    const W = this.width;
    const x0 = box ? Math.max(0, box.x) : 0;
    const y0 = box ? Math.max(0, box.y) : 0;
    const x1 = box ? Math.min(W, box.x + box.w) : W;
    const y1 = box ? Math.min(this.height, box.y + box.h) : this.height;
    if (x1 <= x0 || y1 <= y0) return;
    // A missing mask reads as a shared empty one, so that the inner loop has no branch (it runs per pixel).
    const empty = this.emptyMask();
    const right = doc?.masks.right_lung?.bits ?? empty;
    const left = doc?.masks.left_lung?.bits ?? empty;
    const lesion = doc?.masks.lesion?.bits ?? empty;
    const out = this.mask32;
    const pal = this.palette;
    for (let y = y0; y < y1; y++) {
      for (let i = y * W + x0, end = y * W + x1; i < end; i++) out[i] = pal[right[i] | (left[i] << 1) | (lesion[i] << 2)];
    }
    this.maskCtx.putImageData(this.maskData, 0, 0, x0, y0, x1 - x0, y1 - y0);
    if (!draw) return;
    if (box) this.drawMaskRegion(x0, y0, x1, y1);
    else this.layers.masks.draw();
  }

  /**
   * Redraw the masks layer only where image pixels [x0, x1) x [y0, y1) land on screen: a brush tick changes a few
   * hundred pixels, and redrawing the whole 9-megapixel layer for it would cost most of a frame.
   */
  private drawMaskRegion(x0: number, y0: number, x1: number, y1: number): void {
    const layer = this.layers.masks;
    const canvas = layer.getCanvas();
    const ctx = canvas.getContext()._context as CanvasRenderingContext2D;
    const pr = canvas.getPixelRatio();
    const t = this.t;
    const sw = canvas.width / pr;
    const sh = canvas.height / pr;
    const ax = Math.max(0, Math.floor(t.x + x0 * t.sx) - 1);
    const ay = Math.max(0, Math.floor(t.y + y0 * t.sy) - 1);
    const bx = Math.min(sw, Math.ceil(t.x + x1 * t.sx) + 1);
    const by = Math.min(sh, Math.ceil(t.y + y1 * t.sy) + 1);
    if (bx <= ax || by <= ay || !this.maskImage.visible()) return;
    ctx.save();
    ctx.setTransform(pr, 0, 0, pr, 0, 0);
    ctx.beginPath();
    ctx.rect(ax, ay, bx - ax, by - ay);
    ctx.clip();
    ctx.clearRect(ax, ay, bx - ax, by - ay);
    // The same mapping as the full draw (nearest neighbour), so the patch matches its surroundings exactly.
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.maskCanvas, t.x, t.y, this.width * t.sx, this.height * t.sy);
    ctx.restore();
  }

  // ---- hit testing (stage coordinates in, image coordinates out) ----

  toImage(sx: number, sy: number): [number, number] {
    return [(sx - this.t.x) / this.t.sx, (sy - this.t.y) / this.t.sy];
  }

  toStage(ix: number, iy: number): [number, number] {
    return [this.t.x + ix * this.t.sx, this.t.y + iy * this.t.sy];
  }

  get transform(): ViewTransform {
    return this.t;
  }

  /** The selected box's handle under the stage point, if any. */
  handleAt(sx: number, sy: number): HandleName | null {
    const f = this.selected && this.doc?.findings[this.selected];
    if (!f || !this.visible.boxes) return null;
    for (const h of HANDLES) {
      const [hx, hy] = this.toStage(...handlePoint(f, h));
      if (Math.abs(sx - hx) <= HANDLE_PX && Math.abs(sy - hy) <= HANDLE_PX) return h;
    }
    return null;
  }

  /** The topmost visible box under the stage point (the smallest, when boxes overlap), if any. */
  findingAt(sx: number, sy: number): Finding | null {
    if (!this.doc || !this.visible.boxes) return null;
    const [ix, iy] = this.toImage(sx, sy);
    const slackX = 3 / this.t.sx;
    const slackY = 3 / this.t.sy;
    let best: Finding | null = null;
    for (const f of Object.values(this.doc.findings)) {
      if (ix >= f.x - slackX && ix <= f.x + f.w + slackX && iy >= f.y - slackY && iy <= f.y + f.h + slackY) {
        if (!best || f.w * f.h < best.w * best.h) best = f;
      }
    }
    return best;
  }

  // ---- internals ----

  private empty: Uint8Array | null = null;
  private emptyMask(): Uint8Array {
    return (this.empty ??= new Uint8Array(this.width * this.height));
  }

  private buildPalette(): void {
    // code bit 0: right lung, bit 1: left lung, bit 2: lesion; a lesion shows over a lung.
    const le = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    const pack = ([r, g, b]: readonly [number, number, number], a: number) => (le ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0);
    for (let code = 0; code < 8; code++) {
      const lesion = code & 4 && this.visible.lesions;
      const right = code & 1 && this.visible.lungs;
      const left = code & 2 && this.visible.lungs;
      this.palette[code] = lesion ? pack(MASK_RGBA.lesion, MASK_ALPHA + 40) : right ? pack(MASK_RGBA.right_lung, MASK_ALPHA) : left ? pack(MASK_RGBA.left_lung, MASK_ALPHA) : 0;
    }
  }

  private placeHeat(): void {
    const ev = this.heatEv;
    if (!ev) return;
    const [ox, oy] = ev.origin;
    const [cw, ch] = ev.cell;
    this.heatImage.position({ x: this.t.x + ox * this.t.sx, y: this.t.y + oy * this.t.sy });
    this.heatImage.scale({ x: cw * this.t.sx, y: ch * this.t.sy });
    this.heatImage.size({ width: ev.width, height: ev.height });
  }

  private buildMarks(): void {
    this.marks.destroyChildren();
    if (!this.visible.boxes) return;
    const cand = cssColour(CANDIDATE_COLOUR);
    for (const c of this.candidates) {
      const [x, y] = this.toStage(c.x, c.y);
      this.marks.add(
        new Konva.Rect({ x, y, width: c.w * this.t.sx, height: c.h * this.t.sy, stroke: '#000', strokeWidth: 3, opacity: 0.45, listening: false, perfectDrawEnabled: false }),
        new Konva.Rect({ x, y, width: c.w * this.t.sx, height: c.h * this.t.sy, stroke: cand, strokeWidth: 1.5, dash: [...(CANDIDATE_COLOUR.dash ?? [])], listening: false, perfectDrawEnabled: false }),
      );
      const label = new Konva.Label({ x, y: y - 18, listening: false });
      label.add(new Konva.Tag({ fill: 'rgba(0,0,0,0.65)', listening: false }));
      label.add(new Konva.Text({ text: `low confidence ${Math.round(c.score * 100)}%`, fontSize: 12, padding: 3, fill: cand, listening: false }));
      this.marks.add(label);
    }
    if (!this.doc) return;
    const findings = Object.values(this.doc.findings).sort((a, b) => (a.id === this.selected ? 1 : b.id === this.selected ? -1 : 0));
    for (const f of findings) {
      const [x, y] = this.toStage(f.x, f.y);
      const w = f.w * this.t.sx;
      const h = f.h * this.t.sy;
      const style = STATE_STYLE[f.state];
      const sel = f.id === this.selected;
      this.marks.add(
        new Konva.Rect({ x, y, width: w, height: h, stroke: '#000', strokeWidth: sel ? 5 : 4, opacity: 0.5, listening: false, perfectDrawEnabled: false }),
        new Konva.Rect({ x, y, width: w, height: h, stroke: style.stroke, strokeWidth: sel ? 3 : 2, dash: style.dash, listening: false, perfectDrawEnabled: false }),
      );
      const name = LESION_LABEL_NAMES[f.label] ?? f.label;
      const score = f.provenance.source === 'ai' && f.score !== undefined ? ` ${Math.round(f.score * 100)}%` : '';
      const who = f.provenance.source === 'user' ? ' · added' : f.state === 'edited' ? ' · changed' : '';
      const text = `${name}${score}${who}${f.state === 'rejected' ? ' · rejected' : ''}`;
      const label = new Konva.Label({ x, y: y - 18, listening: false });
      label.add(new Konva.Tag({ fill: 'rgba(0,0,0,0.65)', listening: false }));
      label.add(new Konva.Text({ text, fontSize: 12, padding: 3, fill: style.stroke, listening: false }));
      this.marks.add(label);
      if (sel && f.state !== 'rejected') {
        for (const hn of HANDLES) {
          const [hx, hy] = this.toStage(...handlePoint(f, hn));
          this.marks.add(new Konva.Rect({ x: hx - 4, y: hy - 4, width: 8, height: 8, fill: '#fff', stroke: '#000', strokeWidth: 1, listening: false, perfectDrawEnabled: false }));
        }
      }
    }
  }

  private buildPreview(): void {
    this.previewGroup.destroyChildren();
    const p = this.preview;
    if (p.box) {
      const [x, y] = this.toStage(p.box.x, p.box.y);
      this.previewGroup.add(new Konva.Rect({ x, y, width: p.box.w * this.t.sx, height: p.box.h * this.t.sy, stroke: '#2ec4ff', strokeWidth: 2, dash: [4, 3], listening: false }));
    }
    if (p.lasso && p.lasso.length > 1) {
      const pts = p.lasso.flatMap(([ix, iy]) => this.toStage(ix, iy));
      this.previewGroup.add(new Konva.Line({ points: pts, stroke: '#fff', strokeWidth: 1.5, dash: [5, 3], closed: true, fill: 'rgba(255,255,255,0.08)', listening: false }));
    }
    if (p.brush) {
      const [x, y] = this.toStage(p.brush.x, p.brush.y);
      this.previewGroup.add(
        new Konva.Ellipse({ x, y, radiusX: Math.max(1, p.brush.r * this.t.sx), radiusY: Math.max(1, p.brush.r * this.t.sy), stroke: p.brush.erase ? '#ff5a5a' : '#fff', strokeWidth: 1, listening: false }),
      );
    }
  }
}
