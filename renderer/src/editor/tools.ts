// What the pointer does with each editing tool: select, move and resize boxes (snapping to whole pixels and to other
// boxes' edges, never smaller than MIN_BOX_SIZE), draw new boxes, paint and erase masks with the brush, fill a lasso
// or a clicked polygon, fill a closed region. Each press is one gesture: one undo step and one save when released;
// Escape during it returns to where it started. Coordinates come in as stage pixels; edits are in image pixels.
import type { EditorController } from './controller';
import { brushStroke, fillPolygon, floodFill, polygonBounds, strokeBounds, type Point } from './maskDiff';
import { MIN_BOX_SIZE, moveFinding, resizeFinding, type BoxGeometry, type Finding } from './model';
import type { HandleName, OverlayRenderer } from '../canvas/overlays';

/** Screen pixels within which an edge snaps to another box's edge (hold Alt to place freely). */
const SNAP_PX = 6;
/** Screen pixels a press must move before it is a drag rather than a click. */
const CLICK_PX = 3;

export interface PointerInput {
  /** stage coordinates */
  x: number;
  y: number;
  shift: boolean;
  alt: boolean;
  /** the event's timeStamp, to measure input-to-paint latency */
  time: number;
  /** performance.now() when the handler got the event (the browser may hold pointer moves until its next frame) */
  receivedAt?: number;
}

type Drag =
  | { kind: 'move'; id: string; start: Point; orig: Finding; mark: string; moved: boolean }
  | { kind: 'resize'; id: string; handle: HandleName; orig: Finding; mark: string }
  | { kind: 'create'; start: Point; box: BoxGeometry | null; sx: number; sy: number }
  | { kind: 'paint'; last: Point; value: number; mark: string }
  | { kind: 'lasso'; points: Point[]; sx: number; sy: number };

let markSeq = 0;
const newMark = () => `g${++markSeq}`;

export class ToolInput {
  private drag: Drag | null = null;
  /** vertices of a polygon being clicked out with the lasso tool */
  private polygon: Point[] = [];
  /** told of a message for the reader (a fill that found no closed region) */
  onNotice: (message: string) => void = () => {};

  constructor(
    private readonly ed: EditorController,
    private readonly view: OverlayRenderer,
  ) {}

  get active(): boolean {
    return this.drag !== null;
  }

  /** A left-button press. False when the tool leaves it to the viewer (window/level, pan). */
  down(p: PointerInput): boolean {
    const ed = this.ed;
    const tool = ed.tool;
    if (tool === 'view') return false;
    const [ix, iy] = this.view.toImage(p.x, p.y);
    if (tool === 'select') {
      const handle = ed.editable ? this.view.handleAt(p.x, p.y) : null;
      const sel = ed.selected ? ed.doc.findings[ed.selected] : null;
      if (handle && sel && sel.state !== 'rejected') {
        const mark = newMark();
        ed.beginGesture(mark);
        this.drag = { kind: 'resize', id: sel.id, handle, orig: sel, mark };
        return true;
      }
      const hit = this.view.findingAt(p.x, p.y);
      ed.select(hit?.id ?? null);
      if (!hit) return false; // empty space: the viewer pans or windows as usual
      if (!ed.editable || hit.state === 'rejected') return true;
      const mark = newMark();
      ed.beginGesture(mark);
      this.drag = { kind: 'move', id: hit.id, start: [ix, iy], orig: hit, mark, moved: false };
      return true;
    }
    if (!ed.editable) return true;
    if (tool === 'box') {
      this.drag = { kind: 'create', start: [ix, iy], box: null, sx: p.x, sy: p.y };
      return true;
    }
    if (tool === 'brush' || tool === 'eraser') {
      const mark = newMark();
      ed.beginGesture(mark);
      const value = tool === 'eraser' || p.shift ? 0 : 1;
      this.drag = { kind: 'paint', last: [ix, iy], value, mark };
      this.paint([[ix, iy]], value, p);
      return true;
    }
    if (tool === 'lasso') {
      this.drag = { kind: 'lasso', points: [[ix, iy]], sx: p.x, sy: p.y };
      return true;
    }
    if (tool === 'fill') {
      const mark = newMark();
      ed.beginGesture(mark);
      ed.ensureTargetMask();
      let filled = true;
      ed.run({ type: 'mask', maskId: ed.target, bounds: { x: 0, y: 0, w: ed.width, h: ed.height }, paint: (m) => {
        const box = floodFill(m, ix, iy, p.shift ? 0 : 1);
        filled = box !== null;
        return box;
      } }, 'squash');
      ed.endGesture();
      if (!filled) this.onNotice('Nothing filled: click inside a closed outline on this mask (a region that reaches the image border is not closed).');
      return true;
    }
    return false;
  }

  move(p: PointerInput): void {
    const ed = this.ed;
    const [ix, iy] = this.view.toImage(p.x, p.y);
    if ((ed.tool === 'brush' || ed.tool === 'eraser') && ed.editable) {
      this.view.setPreview({ brush: { x: ix, y: iy, r: ed.brushRadius, erase: ed.tool === 'eraser' || p.shift } });
    }
    const d = this.drag;
    if (!d) return;
    switch (d.kind) {
      case 'move': {
        const f = ed.doc.findings[d.id];
        if (!f) return;
        let x = d.orig.x + (ix - d.start[0]);
        let y = d.orig.y + (iy - d.start[1]);
        if (!p.alt) [x, y] = this.snapMove(d.orig, x, y);
        x = clamp(Math.round(x), 0, ed.width - d.orig.w);
        y = clamp(Math.round(y), 0, ed.height - d.orig.h);
        if (x === f.x && y === f.y) return;
        d.moved = true;
        ed.run({ type: 'findings', put: [moveFinding(f, x, y)] }, 'squash');
        return;
      }
      case 'resize': {
        const f = ed.doc.findings[d.id];
        if (!f) return;
        const box = this.resized(d.orig, d.handle, ix, iy, !p.alt);
        if (box.x === f.x && box.y === f.y && box.w === f.w && box.h === f.h) return;
        ed.run({ type: 'findings', put: [resizeFinding(f, box)] }, 'squash');
        return;
      }
      case 'create': {
        if (Math.abs(p.x - d.sx) + Math.abs(p.y - d.sy) < CLICK_PX) return;
        d.box = this.normalised(d.start, [ix, iy], !p.alt);
        this.view.setPreview({ box: d.box });
        return;
      }
      case 'paint': {
        this.paint([d.last, [ix, iy]], d.value, p);
        d.last = [ix, iy];
        return;
      }
      case 'lasso': {
        const last = d.points[d.points.length - 1];
        const [lx, ly] = this.view.toStage(last[0], last[1]);
        if (Math.hypot(p.x - lx, p.y - ly) < 2) return;
        d.points.push([ix, iy]);
        this.view.setPreview({ lasso: d.points });
      }
    }
  }

  up(p: PointerInput): void {
    const d = this.drag;
    this.drag = null;
    const ed = this.ed;
    if (!d) return;
    switch (d.kind) {
      case 'move':
      case 'resize':
      case 'paint':
        ed.endGesture();
        return;
      case 'create': {
        this.view.setPreview({});
        if (!d.box) return;
        const f = ed.addBox(d.box);
        ed.select(f.id);
        return;
      }
      case 'lasso': {
        const moved = Math.abs(p.x - d.sx) + Math.abs(p.y - d.sy) >= CLICK_PX || d.points.length > 2;
        if (moved) {
          this.polygon = [];
          this.fill(d.points, p.shift ? 0 : 1);
          this.view.setPreview({});
          return;
        }
        // A click: a polygon vertex; a click back on the first vertex (or Enter) closes it.
        const [ix, iy] = d.points[0];
        const first = this.polygon[0];
        if (first && this.polygon.length >= 3) {
          const [fx, fy] = this.view.toStage(first[0], first[1]);
          if (Math.hypot(p.x - fx, p.y - fy) <= 8) {
            this.closePolygon(p.shift);
            return;
          }
        }
        this.polygon.push([ix, iy]);
        this.view.setPreview({ lasso: this.polygon });
      }
    }
  }

  /** Enter: fill the polygon clicked out so far. */
  closePolygon(erase = false): boolean {
    if (this.polygon.length < 3) return false;
    const pts = this.polygon;
    this.polygon = [];
    this.fill(pts, erase ? 0 : 1);
    this.view.setPreview({});
    return true;
  }

  /** Escape: cancel the gesture or the polygon in progress. True when there was one. */
  cancel(): boolean {
    const d = this.drag;
    this.drag = null;
    if (this.polygon.length) {
      this.polygon = [];
      this.view.setPreview({});
      return true;
    }
    if (!d) return false;
    if (d.kind === 'move' || d.kind === 'resize' || d.kind === 'paint') this.ed.cancelGesture(d.mark);
    this.view.setPreview({});
    return true;
  }

  /** The pointer left the canvas: hide the brush outline. */
  leave(): void {
    if (!this.drag) this.view.setPreview({});
  }

  // ---- internals ----

  private paint(points: Point[], value: number, input: PointerInput): void {
    const ed = this.ed;
    const mask = ed.ensureTargetMask();
    const r = ed.brushRadius;
    ed.run({ type: 'mask', maskId: mask.id, bounds: strokeBounds(mask, points, r), paint: (m) => brushStroke(m, points, r, value) }, 'squash');
    // The layer was drawn synchronously by the change listener: the pixels are on the canvas now.
    window.dispatchEvent(new CustomEvent('cxr:painted', { detail: { inputAt: input.time, receivedAt: input.receivedAt ?? input.time, paintedAt: performance.now() } }));
  }

  private fill(points: Point[], value: number): void {
    if (points.length < 3) return;
    const ed = this.ed;
    const mark = newMark();
    ed.beginGesture(mark);
    const mask = ed.ensureTargetMask();
    ed.run({ type: 'mask', maskId: mask.id, bounds: polygonBounds(mask, points), paint: (m) => fillPolygon(m, points, value) }, 'squash');
    ed.endGesture();
  }

  private snapTolerance(): [number, number] {
    const t = this.view.transform;
    return [SNAP_PX / t.sx, SNAP_PX / t.sy];
  }

  private edges(exceptId: string): { xs: number[]; ys: number[] } {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const f of Object.values(this.ed.doc.findings)) {
      if (f.id === exceptId || f.state === 'rejected') continue;
      xs.push(f.x, f.x + f.w);
      ys.push(f.y, f.y + f.h);
    }
    return { xs, ys };
  }

  private snapMove(orig: Finding, x: number, y: number): [number, number] {
    const [tx, ty] = this.snapTolerance();
    const { xs, ys } = this.edges(orig.id);
    const dx = nearestOffset([x, x + orig.w], xs, tx);
    const dy = nearestOffset([y, y + orig.h], ys, ty);
    return [x + dx, y + dy];
  }

  private snapValue(v: number, targets: number[], tol: number): number {
    return v + nearestOffset([v], targets, tol);
  }

  private resized(o: BoxGeometry, handle: HandleName, ix: number, iy: number, snap: boolean): BoxGeometry {
    const ed = this.ed;
    let left = o.x;
    let top = o.y;
    let right = o.x + o.w;
    let bottom = o.y + o.h;
    const [tx, ty] = this.snapTolerance();
    const { xs, ys } = snap ? this.edges(ed.selected ?? '') : { xs: [], ys: [] };
    const sx = (v: number) => Math.round(snap ? this.snapValue(v, xs, tx) : v);
    const sy = (v: number) => Math.round(snap ? this.snapValue(v, ys, ty) : v);
    if (handle.includes('w')) left = clamp(sx(ix), 0, right - MIN_BOX_SIZE);
    if (handle.includes('e')) right = clamp(sx(ix), left + MIN_BOX_SIZE, ed.width);
    if (handle.includes('n')) top = clamp(sy(iy), 0, bottom - MIN_BOX_SIZE);
    if (handle.includes('s')) bottom = clamp(sy(iy), top + MIN_BOX_SIZE, ed.height);
    return { x: left, y: top, w: right - left, h: bottom - top };
  }

  private normalised(a: Point, b: Point, snap: boolean): BoxGeometry {
    const ed = this.ed;
    const [tx, ty] = this.snapTolerance();
    const { xs, ys } = snap ? this.edges('') : { xs: [], ys: [] };
    const fx = (v: number) => clamp(Math.round(snap ? this.snapValue(v, xs, tx) : v), 0, ed.width);
    const fy = (v: number) => clamp(Math.round(snap ? this.snapValue(v, ys, ty) : v), 0, ed.height);
    let x0 = fx(Math.min(a[0], b[0]));
    let y0 = fy(Math.min(a[1], b[1]));
    let x1 = fx(Math.max(a[0], b[0]));
    let y1 = fy(Math.max(a[1], b[1]));
    if (x1 - x0 < MIN_BOX_SIZE) x1 = Math.min(ed.width, x0 + MIN_BOX_SIZE), (x0 = x1 - MIN_BOX_SIZE);
    if (y1 - y0 < MIN_BOX_SIZE) y1 = Math.min(ed.height, y0 + MIN_BOX_SIZE), (y0 = y1 - MIN_BOX_SIZE);
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }
}

/** The smallest shift (within `tol`) that puts one of `values` on one of `targets`; 0 when none is that close. */
function nearestOffset(values: number[], targets: number[], tol: number): number {
  let best = 0;
  let bestAbs = tol;
  for (const v of values) {
    for (const t of targets) {
      const d = t - v;
      if (Math.abs(d) <= bestAbs) {
        best = d;
        bestAbs = Math.abs(d);
      }
    }
  }
  return best;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
