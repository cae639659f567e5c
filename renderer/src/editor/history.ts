// The undo/redo history of one image's editing session, after tldraw's HistoryManager and Excalidraw's history:
// every edit goes through `run(change, { history })` and is kept as a diff (findings before/after; mask pixels as the
// changed box's before/after patches, run-length coded). A pointer-down sets a `mark`; the drag or brush ticks that
// follow are `squash`ed into one entry; Escape calls `bailToMark`. Loading is not recorded; selection and viewport
// are not part of the document, so they never touch the history. Memory is bounded by a byte budget: past it, the
// oldest entries are dropped and the caller is told. Pure: no DOM, no Node.
import type { EditorDoc, Finding, Mask } from './model';
import { MaskEdit, applyDiff, encodeRle, decodeRle, type BBox, type MaskDiff } from './maskDiff';

export type Change =
  /** add or replace findings (by id), and remove findings */
  | { type: 'findings'; put?: Finding[]; remove?: string[] }
  /** paint on a mask: `bounds` is every pixel `paint` may change (see strokeBounds, polygonBounds) */
  | { type: 'mask'; maskId: string; bounds: BBox | null; paint: (mask: Mask) => BBox | null }
  | { type: 'addMask'; mask: Mask }
  | { type: 'removeMask'; maskId: string };

export type HistoryMode = 'record' | 'ignore' | 'squash';

/** What a change touched, so that the canvas repaints only that. */
export interface DocChange {
  /** what caused it: autosave after 'edit', 'undo', 'redo' and 'bail', never after 'load' */
  cause: 'load' | 'edit' | 'undo' | 'redo' | 'bail';
  findings: boolean;
  masks: { maskId: string; box: BBox | null }[];
}

/** A mask kept whole in the history (when added or removed), run-length coded. */
interface StoredMask {
  meta: Omit<Mask, 'bits'>;
  rle: Uint8Array;
}

type Op =
  | { type: 'findings'; before: Record<string, Finding | null>; after: Record<string, Finding | null>; bytes: number }
  | { type: 'pixels'; maskId: string; diff: MaskDiff | null; open: MaskEdit | null }
  | { type: 'maskRecord'; maskId: string; before: StoredMask | null; after: StoredMask | null };

interface Entry {
  kind: 'entry';
  ops: Op[];
}
interface Mark {
  kind: 'mark';
  id: string;
}

export interface HistoryOptions {
  /** most bytes the undo and redo entries may hold; past it the oldest are dropped (default 128 MB) */
  maxBytes?: number;
  /** told when old entries are dropped to stay within the budget */
  onTrim?: (dropped: { entries: number; bytes: number }) => void;
  /** told after every change to the document, including undo, redo and load */
  onChange?: (change: DocChange) => void;
}

export class EditHistory {
  private docState: EditorDoc;
  private undos: (Entry | Mark)[] = [];
  private redos: Entry[] = [];
  private readonly maxBytes: number;

  constructor(doc: EditorDoc, private readonly options: HistoryOptions = {}) {
    this.docState = doc;
    this.maxBytes = options.maxBytes ?? 128 * 1024 * 1024;
  }

  get doc(): EditorDoc {
    return this.docState;
  }

  /** Replace the document (opening an image, reloading a saved version): not recorded, history starts fresh. */
  load(doc: EditorDoc): void {
    this.docState = doc;
    this.undos = [];
    this.redos = [];
    this.notify({ cause: 'load', findings: true, masks: Object.keys(doc.masks).map((maskId) => ({ maskId, box: null })) });
  }

  run(change: Change, options: { history?: HistoryMode } = {}): void {
    const mode = options.history ?? 'record';
    if (mode === 'ignore') {
      this.applyUnrecorded(change);
      return;
    }
    this.redos = [];
    let entry: Entry;
    const top = this.undos[this.undos.length - 1];
    if (mode === 'squash' && top && top.kind === 'entry') {
      entry = top;
    } else {
      this.closeOpenEdits();
      entry = { kind: 'entry', ops: [] };
      this.undos.push(entry);
    }
    const op = this.applyRecorded(change, entry, mode === 'squash');
    if (entry.ops.length === 0) this.undos.splice(this.undos.indexOf(entry), 1);
    // A recorded change is complete: compact it now, so that undo only applies. Mid-stroke ('squash'), the tile
    // copies stay open until the next mark, record, undo or commit, and the budget waits for them.
    if (op && mode === 'record') {
      this.closeOpenEdits();
      this.enforceBudget();
    }
  }

  /**
   * Put findings as the store recorded them (who changed each, and when) in place of the very objects that were
   * saved, without a history entry: it is the same edit, annotated. A finding edited again since is left alone.
   */
  amend(saved: { sent: Finding; stored: Finding }[]): void {
    const findings = { ...this.docState.findings };
    let changed = false;
    for (const { sent, stored } of saved) {
      if (findings[sent.id] === sent && stored.id === sent.id) {
        findings[sent.id] = stored;
        changed = true;
      }
    }
    if (!changed) return;
    this.docState = { ...this.docState, findings };
    this.notify({ cause: 'load', findings: true, masks: [] });
  }

  /** Remember this point (a pointer-down): `bailToMark(id)` returns to it, and squashes never merge across it. */
  mark(id: string): void {
    this.closeOpenEdits();
    this.enforceBudget();
    this.undos.push({ kind: 'mark', id });
  }

  /** Whether an edit was recorded since the mark (a fill or stroke that changed no pixel leaves none once closed). */
  recordedSince(id: string): boolean {
    this.closeOpenEdits();
    const at = this.undos.findLastIndex((e) => e.kind === 'mark' && e.id === id);
    return this.undos.slice(at + 1).some((e) => e.kind === 'entry');
  }

  /** Undo everything since the mark and forget it (Escape during a drag). False when the mark is gone. */
  bailToMark(id: string): boolean {
    const at = this.undos.findLastIndex((e) => e.kind === 'mark' && e.id === id);
    if (at < 0) return false;
    this.closeOpenEdits();
    const undone = this.undos.splice(at);
    for (let i = undone.length - 1; i > 0; i--) this.revert(undone[i] as Entry, 'bail');
    return true;
  }

  /** Close the entry being squashed into (end of a stroke), so that its mask pixels are kept as a compact diff. */
  commit(): void {
    this.closeOpenEdits();
    this.enforceBudget();
  }

  get canUndo(): boolean {
    return this.undos.some((e) => e.kind === 'entry');
  }

  get canRedo(): boolean {
    return this.redos.length > 0;
  }

  undo(): boolean {
    this.closeOpenEdits();
    while (this.undos.length) {
      const e = this.undos.pop()!;
      if (e.kind === 'mark') continue;
      this.revert(e, 'undo');
      this.redos.push(e);
      return true;
    }
    return false;
  }

  redo(): boolean {
    const e = this.redos.pop();
    if (!e) return false;
    const changed: DocChange = { cause: 'redo', findings: false, masks: [] };
    for (const op of e.ops) this.applyOp(op, 'redo', changed);
    this.undos.push(e);
    this.notify(changed);
    return true;
  }

  /** Bytes held by the undo and redo entries (mask diffs, stored masks, findings). */
  get byteSize(): number {
    let n = 0;
    for (const e of this.undos) if (e.kind === 'entry') n += entryBytes(e);
    for (const e of this.redos) n += entryBytes(e);
    return n;
  }

  get undoDepth(): number {
    return this.undos.filter((e) => e.kind === 'entry').length;
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private applyUnrecorded(change: Change): void {
    const doc = this.docState;
    switch (change.type) {
      case 'findings':
        this.docState = { ...doc, findings: withFindings(doc.findings, change.put, change.remove) };
        this.notify({ cause: 'edit', findings: true, masks: [] });
        return;
      case 'mask': {
        const mask = this.requireMask(change.maskId);
        this.notify({ cause: 'edit', findings: false, masks: [{ maskId: mask.id, box: change.paint(mask) }] });
        return;
      }
      case 'addMask':
        this.docState = { ...doc, masks: { ...doc.masks, [change.mask.id]: change.mask } };
        this.notify({ cause: 'edit', findings: false, masks: [{ maskId: change.mask.id, box: null }] });
        return;
      case 'removeMask': {
        const masks = { ...doc.masks };
        delete masks[change.maskId];
        this.docState = { ...doc, masks };
        this.notify({ cause: 'edit', findings: false, masks: [{ maskId: change.maskId, box: null }] });
      }
    }
  }

  private applyRecorded(change: Change, entry: Entry, squash: boolean): Op | null {
    const doc = this.docState;
    const last = entry.ops[entry.ops.length - 1];
    switch (change.type) {
      case 'findings': {
        const before: Record<string, Finding | null> = {};
        const after: Record<string, Finding | null> = {};
        for (const f of change.put ?? []) {
          before[f.id] = doc.findings[f.id] ?? null;
          after[f.id] = f;
        }
        for (const id of change.remove ?? []) {
          if (!(id in doc.findings)) continue;
          before[id] = doc.findings[id];
          after[id] = null;
        }
        if (Object.keys(after).length === 0) return null;
        this.docState = { ...doc, findings: withFindings(doc.findings, change.put, change.remove) };
        let op: Op;
        if (squash && last?.type === 'findings') {
          // A drag: keep the first before of each finding and the latest after.
          for (const id of Object.keys(after)) {
            if (!(id in last.before)) last.before[id] = before[id];
            last.after[id] = after[id];
          }
          last.bytes = findingsBytes(last.before, last.after);
          op = last;
        } else {
          op = { type: 'findings', before, after, bytes: findingsBytes(before, after) };
          entry.ops.push(op);
        }
        this.notify({ cause: 'edit', findings: true, masks: [] });
        return op;
      }
      case 'mask': {
        const mask = this.requireMask(change.maskId);
        let op: Op;
        if (squash && last?.type === 'pixels' && last.maskId === change.maskId && last.open) {
          op = last;
        } else {
          op = { type: 'pixels', maskId: mask.id, diff: null, open: new MaskEdit(mask) };
          entry.ops.push(op);
        }
        op.open!.touch(change.bounds);
        const box = change.paint(mask);
        this.notify({ cause: 'edit', findings: false, masks: [{ maskId: mask.id, box }] });
        return op;
      }
      case 'addMask': {
        const before = doc.masks[change.mask.id] ? storeMask(doc.masks[change.mask.id]) : null;
        const op: Op = { type: 'maskRecord', maskId: change.mask.id, before, after: storeMask(change.mask) };
        entry.ops.push(op);
        this.docState = { ...doc, masks: { ...doc.masks, [change.mask.id]: change.mask } };
        this.notify({ cause: 'edit', findings: false, masks: [{ maskId: change.mask.id, box: null }] });
        return op;
      }
      case 'removeMask': {
        const existing = doc.masks[change.maskId];
        if (!existing) return null;
        const op: Op = { type: 'maskRecord', maskId: change.maskId, before: storeMask(existing), after: null };
        entry.ops.push(op);
        const masks = { ...doc.masks };
        delete masks[change.maskId];
        this.docState = { ...doc, masks };
        this.notify({ cause: 'edit', findings: false, masks: [{ maskId: change.maskId, box: null }] });
        return op;
      }
    }
  }

  private revert(e: Entry, cause: 'undo' | 'bail'): void {
    const changed: DocChange = { cause, findings: false, masks: [] };
    for (let i = e.ops.length - 1; i >= 0; i--) this.applyOp(e.ops[i], 'undo', changed);
    this.notify(changed);
  }

  private applyOp(op: Op, direction: 'undo' | 'redo', changed: DocChange): void {
    const doc = this.docState;
    if (op.type === 'findings') {
      const side = direction === 'undo' ? op.before : op.after;
      const findings = { ...doc.findings };
      for (const [id, f] of Object.entries(side)) {
        if (f) findings[id] = f;
        else delete findings[id];
      }
      this.docState = { ...doc, findings };
      changed.findings = true;
    } else if (op.type === 'pixels') {
      if (!op.diff) return;
      applyDiff(this.requireMask(op.maskId), op.diff, direction);
      changed.masks.push({ maskId: op.maskId, box: op.diff.box });
    } else {
      const side = direction === 'undo' ? op.before : op.after;
      const masks = { ...doc.masks };
      if (side) masks[op.maskId] = restoreMask(side);
      else delete masks[op.maskId];
      this.docState = { ...doc, masks };
      changed.masks.push({ maskId: op.maskId, box: null });
    }
  }

  /** Turn open mask edits (tile copies) into compact diffs; an edit that changed nothing leaves no op. */
  private closeOpenEdits(): void {
    const top = this.undos[this.undos.length - 1];
    if (!top || top.kind !== 'entry') return;
    for (const op of top.ops) {
      if (op.type === 'pixels' && op.open) {
        op.diff = op.open.finish();
        op.open = null;
      }
    }
    top.ops = top.ops.filter((op) => op.type !== 'pixels' || op.diff);
    if (top.ops.length === 0) this.undos.pop();
  }

  private enforceBudget(): void {
    let total = this.byteSize;
    if (total <= this.maxBytes) return;
    let entries = 0;
    let bytes = 0;
    // Drop the oldest undo entries (never the newest one, which may still be growing).
    while (total > this.maxBytes) {
      const i = this.undos.findIndex((e) => e.kind === 'entry');
      const lastEntry = this.undos.findLastIndex((e) => e.kind === 'entry');
      if (i < 0 || i === lastEntry) break;
      const [dropped] = this.undos.splice(0, i + 1).slice(-1) as Entry[];
      const b = entryBytes(dropped);
      total -= b;
      bytes += b;
      entries++;
    }
    if (entries) this.options.onTrim?.({ entries, bytes });
  }

  private requireMask(id: string): Mask {
    const m = this.docState.masks[id];
    if (!m) throw new Error(`no mask ${id} in this document`);
    return m;
  }

  private notify(change: DocChange): void {
    this.options.onChange?.(change);
  }
}

function withFindings(findings: Record<string, Finding>, put: Finding[] = [], remove: string[] = []): Record<string, Finding> {
  const next = { ...findings };
  for (const f of put) next[f.id] = f;
  for (const id of remove) delete next[id];
  return next;
}

function findingsBytes(before: Record<string, Finding | null>, after: Record<string, Finding | null>): number {
  // Findings are shared, immutable objects; this is an estimate of what the entry keeps alive.
  return (Object.keys(before).length + Object.keys(after).length) * 400;
}

function entryBytes(e: Entry): number {
  let n = 64;
  for (const op of e.ops) {
    if (op.type === 'findings') n += op.bytes;
    else if (op.type === 'pixels') n += op.open ? op.open.byteSize : op.diff?.byteSize ?? 0;
    else n += (op.before?.rle.byteLength ?? 0) + (op.after?.rle.byteLength ?? 0) + 128;
  }
  return n;
}

function storeMask(m: Mask): StoredMask {
  const { bits, ...meta } = m;
  return { meta, rle: encodeRle(bits) };
}

function restoreMask(s: StoredMask): Mask {
  return { ...s.meta, bits: decodeRle(s.rle, new Uint8Array(s.meta.width * s.meta.height)) };
}
