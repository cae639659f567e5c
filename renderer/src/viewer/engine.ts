// The viewer's render engine: holds the image, the window/level and the viewport, and paints at most once per
// animation frame. A window/level change re-applies the LUT into an offscreen canvas (the only per-pixel work); a
// zoom or pan only moves the Konva image. Interaction handlers just change numbers and ask for a frame.
import type Konva from 'konva';
import type { ImageInfo } from '../api';
import { applyLut, buildLut, LUT_SIZE } from './lut';

export interface ViewState {
  imageId: number;
  center: number;
  width: number;
  invert: boolean;
  /** device pixels per image pixel (1 = one image pixel on one screen pixel) */
  zoom: number;
  fitted: boolean;
  panTool: boolean;
  rows: number;
  columns: number;
}

export interface RenderedDetail {
  imageId: number;
  center: number;
  width: number;
  invert: boolean;
  zoom: number;
  /** milliseconds the most recent LUT build + apply + putImageData took (for the last window/level or invert change) */
  lutMs: number;
  /** performance.now() when this frame was drawn (a held-drag announcement comes later than its paint) */
  paintedAt: number;
}

export interface KonvaNodes {
  layer: Konva.Layer;
  image: Konva.Image;
  background: Konva.Rect;
}

/** Where the image sits on the stage: its top-left corner and stage pixels per image column and row. */
export interface ImageTransform {
  x: number;
  y: number;
  sx: number;
  sy: number;
}

const MIN_ZOOM = 0.01;
const MAX_ZOOM = 40;
/** A drag held still this long announces its current frame (see paint). */
const HOLD_ANNOUNCE_MS = 400;

export class ViewerEngine {
  readonly info: ImageInfo;
  readonly pixels: Uint16Array;
  readonly canvas: HTMLCanvasElement;
  private ctx: CanvasRenderingContext2D;
  private imageData: ImageData;
  private out32: Uint32Array;
  private lut = new Uint32Array(LUT_SIZE);
  /** rowSpacing / columnSpacing: the image is drawn `aspect` times taller per row than wide per column */
  readonly aspect: number;

  center: number;
  width: number;
  invert = false;
  zoom = 1;
  /** stage (CSS px) position of the image's top-left corner */
  offsetX = 0;
  offsetY = 0;
  fitted = true;
  panTool = false;

  private nodes: KonvaNodes | null = null;
  private stageW = 0;
  private stageH = 0;
  private frame = 0;
  private lutDirty = true;
  private emitPending = true;
  private interacting = false;
  private lastEmitted = '';
  private disposed = false;
  private lutMs = 0;
  /** counts state changes, so a deferred announcement can tell whether anything changed since its frame */
  private seq = 0;
  private holdTimer: ReturnType<typeof setTimeout> | 0 = 0;
  /** the editor's layers, moved and drawn with the image on every frame */
  private overlay: ((t: ImageTransform) => void) | null = null;

  constructor(
    info: ImageInfo,
    pixels: Uint16Array,
    private readonly onRendered: (d: RenderedDetail) => void,
    private readonly onState: (s: ViewState) => void,
  ) {
    this.info = info;
    this.pixels = pixels;
    const ps = info.pixelSpacing;
    this.aspect = ps && ps[0] > 0 && ps[1] > 0 ? ps[0] / ps[1] : 1;
    // The window a careful viewer opens with (chosen by the station: the file's, when plausible for the image, else Auto).
    const initial = info.windows[info.initialWindow.index] ?? info.windows[0];
    this.center = initial.center;
    this.width = initial.width;
    this.canvas = document.createElement('canvas');
    this.canvas.width = info.columns;
    this.canvas.height = info.rows;
    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('Canvas 2D is not available.');
    this.ctx = ctx;
    this.imageData = ctx.createImageData(info.columns, info.rows);
    this.out32 = new Uint32Array(this.imageData.data.buffer);
  }

  private get dpr(): number {
    return window.devicePixelRatio || 1;
  }

  /** Stage (CSS) pixels per image column. */
  private get scale(): number {
    return this.zoom / this.dpr;
  }

  /** Layers drawn over the image follow it: `draw` gets the image's transform on every painted frame. */
  setOverlay(draw: ((t: ImageTransform) => void) | null): void {
    this.overlay = draw;
    if (draw) this.request(false);
  }

  transform(): ImageTransform {
    const s = this.scale;
    return { x: this.offsetX, y: this.offsetY, sx: s, sy: s * this.aspect };
  }

  attach(nodes: KonvaNodes | null): void {
    this.nodes = nodes;
    if (nodes) this.request(false);
  }

  resize(w: number, h: number): void {
    if (w === this.stageW && h === this.stageH) return;
    const first = this.stageW === 0 || this.stageH === 0;
    // Keep the image point under the stage centre where it was.
    this.offsetX += (w - this.stageW) / 2;
    this.offsetY += (h - this.stageH) / 2;
    this.stageW = w;
    this.stageH = h;
    if (first || this.fitted) this.fitNow();
    this.request(false);
  }

  // ---- commands (each one a user action: the next paint announces itself) ----

  fit(): void {
    this.fitNow();
    this.request(true);
  }

  oneToOne(): void {
    const cx = this.stageW / 2;
    const cy = this.stageH / 2;
    this.zoomAround(1, cx, cy);
    this.fitted = false;
    this.request(true);
  }

  setWindow(center: number, width: number, announce = true): void {
    this.center = center;
    this.width = Math.max(1, width);
    this.lutDirty = true;
    this.request(announce);
  }

  toggleInvert(): void {
    this.invert = !this.invert;
    this.lutDirty = true;
    this.request(true);
  }

  setPanTool(on: boolean): void {
    this.panTool = on;
    this.publishState();
  }

  reset(): void {
    const initial = this.info.windows[this.info.initialWindow.index] ?? this.info.windows[0];
    this.center = initial.center;
    this.width = initial.width;
    this.invert = false;
    this.panTool = false;
    this.lutDirty = true;
    this.fitNow();
    this.request(true);
  }

  /** Zoom by `factor` around the stage point (x, y). */
  zoomBy(factor: number, x: number, y: number): void {
    this.zoomAround(this.zoom * factor, x, y);
    this.fitted = false;
    this.request(true);
  }

  panBy(dx: number, dy: number): void {
    this.offsetX += dx;
    this.offsetY += dy;
    this.fitted = false;
    this.request(!this.interacting);
  }

  /** During a drag every frame is painted; `cxr:rendered` waits for the end of the gesture (see paint). */
  beginGesture(): void {
    this.interacting = true;
  }
  endGesture(): void {
    if (!this.interacting) return;
    this.interacting = false;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = 0;
    // The final state is announced, unless a held-still frame already announced exactly this view.
    this.request(false);
  }

  /** Value range of the image in modality units, for the drag sensitivity and the "full range" preset. */
  modalityRange(): { lo: number; hi: number } {
    const a = this.info.minPixel * this.info.rescaleSlope + this.info.rescaleIntercept;
    const b = this.info.maxPixel * this.info.rescaleSlope + this.info.rescaleIntercept;
    return { lo: Math.min(a, b), hi: Math.max(a, b) };
  }

  state(): ViewState {
    return {
      imageId: this.info.imageId,
      center: this.center,
      width: this.width,
      invert: this.invert,
      zoom: this.zoom,
      fitted: this.fitted,
      panTool: this.panTool,
      rows: this.info.rows,
      columns: this.info.columns,
    };
  }

  dispose(): void {
    this.disposed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.nodes = null;
  }

  // ---- internals ----

  private fitNow(): void {
    if (!this.stageW || !this.stageH) return;
    const margin = 0.98;
    const s = Math.min(this.stageW / this.info.columns, this.stageH / (this.info.rows * this.aspect)) * margin;
    this.zoom = s * this.dpr;
    const w = this.info.columns * s;
    const h = this.info.rows * this.aspect * s;
    this.offsetX = (this.stageW - w) / 2;
    this.offsetY = (this.stageH - h) / 2;
    this.fitted = true;
  }

  private zoomAround(next: number, x: number, y: number): void {
    const z = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, next));
    const ratio = z / this.zoom;
    this.offsetX = x - (x - this.offsetX) * ratio;
    this.offsetY = y - (y - this.offsetY) * ratio;
    this.zoom = z;
  }

  private request(announce: boolean): void {
    this.seq++;
    if (announce) this.emitPending = true;
    if (this.frame || this.disposed) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  /** Paints now (also used by tests of the engine); normally called once per animation frame. */
  paint(): void {
    if (this.disposed || !this.nodes || !this.stageW || !this.stageH) return;
    const frameStart = performance.now();
    if (this.lutDirty) {
      const t0 = performance.now();
      buildLut(this.lut, {
        center: this.center,
        width: this.width,
        slope: this.info.rescaleSlope,
        intercept: this.info.rescaleIntercept,
        flip: this.invert !== (this.info.photometric === 'MONOCHROME1'),
      });
      applyLut(this.pixels, this.lut, this.out32);
      this.ctx.putImageData(this.imageData, 0, 0);
      this.lutMs = performance.now() - t0;
      this.lutDirty = false;
      this.nodes.image.image(this.canvas);
    }
    const s = this.scale;
    const { image, background, layer } = this.nodes;
    image.position({ x: this.offsetX, y: this.offsetY });
    image.scale({ x: s, y: s * this.aspect });
    image.size({ width: this.info.columns, height: this.info.rows });
    // The surround stays black whatever the image's polarity: a white field glares in a dark reading room.
    background.setAttrs({ width: this.stageW, height: this.stageH, fill: '#000000' });
    // Nearest-neighbour once image pixels are big enough to see; smooth below.
    layer.imageSmoothingEnabled(this.zoom < 3);
    layer.draw();
    this.overlay?.(this.transform());
    // Every frame's cost (image and overlays), for the editing benchmark: cheap enough to announce always.
    window.dispatchEvent(new CustomEvent('cxr:frame', { detail: { ms: performance.now() - frameStart } }));
    this.publishState();
    const detail: RenderedDetail = { imageId: this.info.imageId, center: this.center, width: this.width, invert: this.invert, zoom: this.zoom, lutMs: this.lutMs, paintedAt: performance.now() };
    const key = JSON.stringify({ ...detail, lutMs: 0, paintedAt: 0, x: Math.round(this.offsetX), y: Math.round(this.offsetY) });
    if (this.interacting) {
      // Mid-drag the frames are painted but not announced: a drag is announced once, at its end, with its final
      // values. Only if the button stays down without moving for HOLD_ANNOUNCE_MS is the still frame announced.
      if (this.holdTimer) clearTimeout(this.holdTimer);
      const seq = this.seq;
      this.holdTimer = setTimeout(() => {
        this.holdTimer = 0;
        if (this.disposed || seq !== this.seq || !this.interacting) return;
        this.emitPending = false;
        this.lastEmitted = key;
        this.onRendered({ ...detail, lutMs: this.lutMs });
      }, HOLD_ANNOUNCE_MS);
    } else if (this.emitPending || key !== this.lastEmitted) {
      this.emitPending = false;
      this.lastEmitted = key;
      this.onRendered(detail);
    }
  }

  private publishState(): void {
    this.onState(this.state());
  }
}
