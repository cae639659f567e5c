// The editing session of one image: the document and its undo history, what is selected, which tool is in hand,
// and the autosave. Every finished edit (a drag released, a stroke ended, an accept, an undo) is saved as a new
// annotation version; the save status it reports is the truth (saving while a request is out, saved with the
// version the store answered, an error with its message otherwise: a stale version is shown, never retried blindly).
// No DOM here: the canvas listens to `onDocChange`, React to `subscribe`.
import { EditHistory, type Change, type DocChange, type HistoryMode } from './history';
import { unionBox, type BBox } from './maskDiff';
import { docFromSaved, savePayload, type SavedAnnotations, type SavePayload } from './session';
import { acceptAllProposed, acceptFinding, addedFinding, deleteFinding, moveFinding, rejectFinding, relabelFinding, type EditorDoc, type Finding, type Mask, type MaskLabel } from './model';

export type ToolName = 'view' | 'select' | 'box' | 'brush' | 'eraser' | 'lasso' | 'fill';
export type LayerName = 'boxes' | 'lungs' | 'lesions' | 'heatmap';

export type SaveStatus =
  | { state: 'idle' }
  | { state: 'pending' }
  | { state: 'saving' }
  | { state: 'saved'; version: number; savedAt: string; author: string }
  | { state: 'error'; code: string; message: string; stale: boolean };

export interface SaveReply {
  version: number;
  savedAt: string;
  author: string;
  /** the findings as stored (with the station's record of who changed them), when the store sends them back */
  findings?: Finding[];
}

export type SaveRequest = Omit<SavePayload, 'author' | 'masks'> & { masks: (SavePayload['masks'][number] | DeflatedMask)[] };

export interface EditorDeps {
  /** sends the save; rejects with an error carrying `code` (ANNOTATION_VERSION_STALE, CASE_SIGNED, NETWORK...) */
  save(payload: SaveRequest): Promise<SaveReply>;
}

interface DeflatedMask {
  id: string;
  label: MaskLabel;
  source: 'ai' | 'user';
  width: number;
  height: number;
  deflated: Uint8Array;
}

/**
 * Deflate the packed masks before they are sent (the browser's own zlib, off the main thread's hot path): a
 * 3000 x 3000 mask is 1.1 MB packed and some tens of kilobytes deflated. Where CompressionStream is missing, they
 * go packed.
 */
async function compressMasks(p: Omit<SavePayload, 'author'>): Promise<SaveRequest> {
  if (typeof CompressionStream === 'undefined') return p;
  const masks = await Promise.all(
    p.masks.map(async (m) => {
      if (!('packed' in m)) return m;
      const stream = new Blob([m.packed as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
      const deflated = new Uint8Array(await new Response(stream).arrayBuffer());
      const { packed: _p, ...rest } = m;
      return { ...rest, deflated };
    }),
  );
  return { ...p, masks };
}

export interface LoadedAnnotations extends SavedAnnotations {
  author: string | null;
  savedAt: string | null;
  locked: { code: string; message: string } | null;
}

const LAYERS_KEY = 'cxr.layers';
const DEFAULT_LAYERS: Record<LayerName, boolean> = { boxes: true, lungs: false, lesions: true, heatmap: false };

function loadLayers(): Record<LayerName, boolean> {
  try {
    const saved = JSON.parse(globalThis.localStorage?.getItem(LAYERS_KEY) ?? 'null') as Partial<Record<LayerName, unknown>> | null;
    const out = { ...DEFAULT_LAYERS };
    for (const k of Object.keys(out) as LayerName[]) if (typeof saved?.[k] === 'boolean') out[k] = saved[k] as boolean;
    return out;
  } catch {
    return { ...DEFAULT_LAYERS };
  }
}

function saveLayers(layers: Record<LayerName, boolean>): void {
  try {
    globalThis.localStorage?.setItem(LAYERS_KEY, JSON.stringify(layers));
  } catch {
    // storage disabled: the choice holds for this session
  }
}

/** how long a save may take before the status says 'saving' (until then it says the edit is about to be saved) */
const SHOW_SAVING_AFTER_MS = 120;

export const MIN_BRUSH = 1;
export const MAX_BRUSH = 200;

export class EditorController {
  readonly history: EditHistory;
  readonly width: number;
  readonly height: number;
  tool: ToolName = 'view';
  selected: string | null = null;
  /** the mask the brush, lasso and fill paint on */
  target: MaskLabel = 'right_lung';
  brushRadius = 12;
  /** the label a new box gets */
  newLabel = 'ActiveTuberculosis';
  /** which layers show: the boxes and any lesion a person painted by default; remembered on this computer */
  layers: Record<LayerName, boolean> = loadLayers();
  heatmapOpacity = 0.5;
  status: SaveStatus = { state: 'idle' };
  locked: { code: string; message: string } | null;
  /** how long the latest save took, from packing its masks to the store's answer (status tip, benchmark) */
  lastSaveMs = 0;

  private baseVersion: number;
  private savedMaskIds: Set<string>;
  /** masks changed since the last save, with the box their changes fall in (null: anywhere, sent whole) */
  private dirtyMasks = new Map<string, BBox | null>();
  private unsavedEdit = false;
  private inFlight: Promise<void> | null = null;
  private gesture = false;
  private gestureMark = '';
  private readonly listeners = new Set<() => void>();
  private readonly docListeners = new Set<(c: DocChange) => void>();
  private snapshotSeq = 0;

  constructor(
    loaded: LoadedAnnotations,
    image: { width: number; height: number },
    private readonly deps: EditorDeps,
  ) {
    this.width = image.width;
    this.height = image.height;
    const { doc, unsaved } = docFromSaved(loaded, image);
    this.baseVersion = loaded.version;
    this.savedMaskIds = new Set(loaded.masks.map((m) => m.id));
    // Lung masks filled from the model's outline are not in the store yet: the first save sends them.
    for (const id of unsaved) this.dirtyMasks.set(id, null);
    this.locked = loaded.locked;
    if (loaded.version > 0 && loaded.savedAt && loaded.author) this.status = { state: 'saved', version: loaded.version, savedAt: loaded.savedAt, author: loaded.author };
    this.history = new EditHistory(doc, { onChange: (c) => this.onHistoryChange(c) });
  }

  get doc(): EditorDoc {
    return this.history.doc;
  }

  get version(): number {
    return this.baseVersion;
  }

  /** Changes each time anything shown changes (for React's useSyncExternalStore). */
  get seq(): number {
    return this.snapshotSeq;
  }

  subscribe(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  onDocChange(cb: (c: DocChange) => void): () => void {
    this.docListeners.add(cb);
    return () => this.docListeners.delete(cb);
  }

  // ---- UI state (not recorded in the history) ----

  setTool(tool: ToolName): void {
    this.tool = tool;
    // Painting on a hidden mask would be painting blind: show it.
    if (tool === 'brush' || tool === 'eraser' || tool === 'lasso' || tool === 'fill') this.showTargetLayer();
    else if (tool === 'select' || tool === 'box') this.showLayer('boxes');
    this.changed();
  }
  select(id: string | null): void {
    if (this.selected === id) return;
    this.selected = id;
    this.changed();
  }
  setTarget(target: MaskLabel): void {
    this.target = target;
    if (this.tool !== 'view' && this.tool !== 'select' && this.tool !== 'box') this.showTargetLayer();
    this.changed();
  }
  setBrushRadius(r: number): void {
    this.brushRadius = Math.max(MIN_BRUSH, Math.min(MAX_BRUSH, Math.round(r)));
    this.changed();
  }
  /** `[` and `]`: about 20% smaller or larger, at least one pixel. */
  growBrush(direction: 1 | -1): void {
    const step = Math.max(1, Math.round(this.brushRadius * 0.2));
    this.setBrushRadius(this.brushRadius + direction * step);
  }
  toggleLayer(layer: LayerName, on?: boolean): void {
    this.layers = { ...this.layers, [layer]: on ?? !this.layers[layer] };
    saveLayers(this.layers);
    this.changed();
  }
  /**
   * Show a layer for this image only, without changing the reader's remembered choice (the evidence map of a flagged
   * image that has no box to show).
   */
  revealLayer(layer: LayerName): void {
    if (this.layers[layer]) return;
    this.layers = { ...this.layers, [layer]: true };
    this.changed();
  }
  private showLayer(layer: LayerName): void {
    if (!this.layers[layer]) this.toggleLayer(layer, true);
  }
  private showTargetLayer(): void {
    this.showLayer(this.target === 'lesion' ? 'lesions' : 'lungs');
  }
  setHeatmapOpacity(v: number): void {
    this.heatmapOpacity = Math.max(0, Math.min(1, v));
    this.changed();
  }
  setNewLabel(label: string): void {
    this.newLabel = label;
    this.changed();
  }

  // ---- edits ----

  get editable(): boolean {
    return this.locked === null;
  }

  /** One edit: recorded as one undo step and saved (unless it is part of a gesture, saved when the gesture ends). */
  run(change: Change, mode: HistoryMode = 'record'): void {
    if (!this.editable) return;
    this.history.run(change, { history: mode });
  }

  /** A pointer-down: ticks until `endGesture` become one undo step and one save. */
  beginGesture(id: string): void {
    this.gesture = true;
    this.gestureMark = id;
    this.history.mark(id);
  }
  endGesture(): void {
    if (!this.gesture) return;
    this.gesture = false;
    this.history.commit();
    // A press that changed nothing (a click on a box, a fill outside any outline) is no new version.
    if (this.history.recordedSince(this.gestureMark)) this.scheduleSave();
    else this.changed();
  }
  /** Escape mid-gesture: back to where it started, nothing saved. */
  cancelGesture(id: string): void {
    if (!this.gesture) return;
    this.gesture = false;
    this.history.bailToMark(id);
    this.changed();
  }
  get inGesture(): boolean {
    return this.gesture;
  }

  /** The mask a paint tool works on, created empty (in the same undo step as the first stroke) when missing. */
  ensureTargetMask(): Mask {
    const existing = this.doc.masks[this.target];
    if (existing) return existing;
    const mask: Mask = { id: this.target, label: this.target, source: 'user', width: this.width, height: this.height, bits: new Uint8Array(this.width * this.height) };
    this.history.run({ type: 'addMask', mask }, { history: this.gesture ? 'squash' : 'record' });
    return mask;
  }

  accept(id: string): void {
    const f = this.doc.findings[id];
    if (f) this.run({ type: 'findings', put: [acceptFinding(f)] });
  }
  reject(id: string): void {
    const f = this.doc.findings[id];
    if (f) this.run({ type: 'findings', put: [rejectFinding(f)] });
  }
  acceptAll(): void {
    const put = acceptAllProposed(this.doc);
    if (put.length) this.run({ type: 'findings', put });
  }
  rejectAll(): void {
    const put = Object.values(this.doc.findings)
      .filter((f) => f.state === 'proposed')
      .map(rejectFinding);
    if (put.length) this.run({ type: 'findings', put });
  }
  remove(id: string): void {
    const f = this.doc.findings[id];
    if (!f) return;
    this.run({ type: 'findings', ...deleteFinding(f) });
    if (!this.doc.findings[id]) this.select(null);
  }
  relabel(id: string, label: string): void {
    const f = this.doc.findings[id];
    if (f && f.label !== label) this.run({ type: 'findings', put: [relabelFinding(f, label)] });
  }
  /** Arrow keys: move a box by whole pixels, kept inside the image. */
  nudge(id: string, dx: number, dy: number): void {
    const f = this.doc.findings[id];
    if (!f) return;
    const x = Math.max(0, Math.min(this.width - f.w, f.x + dx));
    const y = Math.max(0, Math.min(this.height - f.h, f.y + dy));
    if (x !== f.x || y !== f.y) this.run({ type: 'findings', put: [moveFinding(f, x, y)] });
  }
  addBox(box: { x: number; y: number; w: number; h: number }, mode: HistoryMode = 'record'): Finding {
    const id = `u-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
    const f = addedFinding(id, box, this.newLabel);
    this.run({ type: 'findings', put: [f] }, mode);
    return f;
  }

  undo(): void {
    if (!this.editable || this.gesture) return;
    this.selectingTouched(() => this.history.undo());
  }
  redo(): void {
    if (!this.editable || this.gesture) return;
    this.selectingTouched(() => this.history.redo());
  }
  /**
   * An undo or redo selects the box it brought back or changed, as the edit itself left it selected (a box re-created
   * by redo is in hand again); a step that removed the selected box leaves nothing selected.
   */
  private selectingTouched(step: () => void): void {
    const before = this.doc.findings;
    step();
    const after = this.doc.findings;
    const touched = Object.keys(after).filter((id) => after[id] !== before[id]);
    if (touched.length) this.select(touched.includes(this.selected ?? '') ? this.selected : touched[0]);
  }

  // ---- saving ----

  /** Saves now if anything changed since the last save; resolves when the store has answered (or failed). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (!this.unsavedEdit || !this.editable) return;
    if (this.status.state === 'error' && this.status.stale) return;
    this.unsavedEdit = false;
    const t0 = performance.now();
    const sentDirty = new Map(this.dirtyMasks);
    const payload = savePayload(this.doc, { author: '', baseVersion: this.baseVersion, savedMaskIds: this.savedMaskIds, dirty: sentDirty });
    this.dirtyMasks.clear();
    const { author: _author, ...request } = payload;
    // The request goes out first (a patch or a box edit needs no compressing). The panels, which show 'pending'
    // already, re-render to show 'saving' only if the store has not answered soon: a re-render of the editor on the
    // main thread while the reply arrives would only delay the reply (it was a third of a box save's time).
    const sending = request.masks.some((m) => 'packed' in m) ? compressMasks(request).then((compressed) => this.deps.save(compressed)) : this.deps.save(request);
    this.status = { state: 'saving' };
    const slow = setTimeout(() => this.changed(), SHOW_SAVING_AFTER_MS);
    this.inFlight = sending
      .then((reply) => {
        this.lastSaveMs = performance.now() - t0;
        this.baseVersion = reply.version;
        if (reply.findings) {
          const sent = new Map(payload.findings.map((f) => [f.id, f]));
          this.history.amend(reply.findings.flatMap((stored) => (sent.has(stored.id) ? [{ sent: sent.get(stored.id)!, stored }] : [])));
        }
        this.savedMaskIds = new Set(payload.masks.map((m) => m.id));
        this.status = this.unsavedEdit ? { state: 'pending' } : { state: 'saved', version: reply.version, savedAt: reply.savedAt, author: reply.author };
      })
      .catch((e: unknown) => {
        // Nothing was saved: the changes stay to be saved (their masks dirty again).
        for (const [id, box] of sentDirty) this.markDirty(id, box);
        this.unsavedEdit = true;
        const code = (e as { code?: string }).code ?? 'INTERNAL';
        const message = e instanceof Error ? e.message : String(e);
        this.status = { state: 'error', code, message, stale: code === 'ANNOTATION_VERSION_STALE' };
      })
      .finally(() => {
        clearTimeout(slow);
        this.inFlight = null;
        this.changed();
      });
    await this.inFlight;
    if (this.unsavedEdit && (this.status as SaveStatus).state !== 'error') await this.flush();
  }

  /** Try a failed save again (not a stale one: that needs the latest version reloaded first). */
  retrySave(): void {
    if (this.status.state === 'error' && !this.status.stale) {
      this.status = { state: 'pending' };
      void this.flush();
    }
  }

  get hasUnsavedChanges(): boolean {
    return this.unsavedEdit || this.inFlight !== null;
  }

  private scheduleSave(): void {
    this.unsavedEdit = true;
    if (this.status.state !== 'error') this.status = { state: 'pending' };
    this.changed();
    // After this task: the edit is painted first, then its masks are packed and sent.
    if (!this.inFlight) setTimeout(() => void this.flush(), 0);
  }

  private onHistoryChange(c: DocChange): void {
    for (const m of c.masks) this.markDirty(m.maskId, m.box);
    if (this.selected && !this.doc.findings[this.selected]) this.selected = null;
    for (const l of this.docListeners) l(c);
    // A bail returns to the saved state mid-gesture: nothing new to save.
    if (this.gesture) return; // mid-stroke only the canvas follows (it listens to onDocChange); the panels at the end
    if (c.cause !== 'load' && c.cause !== 'bail') this.scheduleSave();
    else this.changed();
  }

  private markDirty(id: string, box: BBox | null): void {
    if (!this.dirtyMasks.has(id)) this.dirtyMasks.set(id, box);
    else {
      const had = this.dirtyMasks.get(id)!;
      this.dirtyMasks.set(id, had && box ? unionBox(had, box) : null);
    }
  }

  private changed(): void {
    this.snapshotSeq++;
    for (const l of this.listeners) l();
  }
}
