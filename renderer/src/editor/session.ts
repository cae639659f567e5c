// Between the store and the editor: a saved annotation version (or the AI's proposal) becomes the editing document,
// and the document becomes the next save, sending pixels only for the masks edited since the last save.
// The shapes mirror `annotations:get` / `annotations:save` in the contract. Pure: no DOM, no Node.
import type { EditorDoc, Finding, Mask, MaskLabel } from './model';
import { encodeRle, fillPolygon, packBits, unpackBits, type BBox } from './maskDiff';

export interface SavedMask {
  id: string;
  label: MaskLabel;
  source: 'ai' | 'user';
  width: number;
  height: number;
  /** bit-packed, most significant bit first */
  packed: Uint8Array;
}

export interface SavedAnnotations {
  version: number;
  findings: Finding[];
  masks: SavedMask[];
  aiLungs: { right: [number, number][]; left: [number, number][] } | null;
}

export interface SavePayload {
  author: string;
  baseVersion: number;
  findings: Finding[];
  masks: (SavedMask | { id: string; keep: true } | PatchedMask)[];
}

/** The pixels of the rows of a mask that changed since the base version (see PatchedMask in the contract). */
export interface PatchedMask {
  id: string;
  patch: { start: number; length: number; rle: Uint8Array };
}

/**
 * The rows that `box` spans, run-length coded: whole rows, so that the patch is one range of the mask (the station
 * writes it over the base version's mask in one pass), and a few bytes a row whatever the box's size.
 */
export function maskPatch(mask: Mask, box: BBox): PatchedMask {
  const start = box.y * mask.width;
  const length = box.h * mask.width;
  return { id: mask.id, patch: { start, length, rle: encodeRle(mask.bits.subarray(start, start + length)) } };
}

/**
 * The document to edit. On version 0 (nothing saved yet) the model's lung outlines are filled into lung masks;
 * those masks are new to the store, so they are reported as `unsaved`.
 */
export function docFromSaved(saved: SavedAnnotations, image: { width: number; height: number }): { doc: EditorDoc; unsaved: Set<string> } {
  const doc: EditorDoc = { findings: {}, masks: {} };
  const unsaved = new Set<string>();
  for (const f of saved.findings) doc.findings[f.id] = f;
  for (const m of saved.masks) {
    doc.masks[m.id] = { id: m.id, label: m.label, source: m.source, width: m.width, height: m.height, bits: unpackBits(m.packed, m.width * m.height) };
  }
  if (saved.version === 0 && saved.aiLungs) {
    for (const [id, label, outline] of [['right_lung', 'right_lung', saved.aiLungs.right], ['left_lung', 'left_lung', saved.aiLungs.left]] as const) {
      if (outline.length < 3) continue;
      const mask: Mask = { id, label, source: 'ai', width: image.width, height: image.height, bits: new Uint8Array(image.width * image.height) };
      fillPolygon(mask, outline, 1);
      doc.masks[id] = mask;
      unsaved.add(id);
    }
  }
  return { doc, unsaved };
}

/**
 * The next save. `savedMaskIds` are the masks stored in `baseVersion`; `dirty` the masks changed since (collect them
 * from the history's onChange, every cause but 'load'), with the box their changes fall in where it is known (a Map;
 * null: anywhere). Unchanged masks are sent as `keep`, so saving a box edit sends no pixels; a changed mask that the
 * base version has goes as a patch of the rows its box spans; a new one (or one changed anywhere) goes whole.
 */
export function savePayload(
  doc: EditorDoc,
  opts: { author: string; baseVersion: number; savedMaskIds: ReadonlySet<string>; dirty: ReadonlySet<string> | ReadonlyMap<string, BBox | null> },
): SavePayload {
  return {
    author: opts.author,
    baseVersion: opts.baseVersion,
    findings: Object.values(doc.findings),
    masks: Object.values(doc.masks).map((m) => {
      if (opts.savedMaskIds.has(m.id) && !opts.dirty.has(m.id)) return { id: m.id, keep: true as const };
      const box = opts.dirty instanceof Map ? opts.dirty.get(m.id) : null;
      if (opts.savedMaskIds.has(m.id) && box) return maskPatch(m, box);
      return { id: m.id, label: m.label, source: m.source, width: m.width, height: m.height, packed: packBits(m.bits) };
    }),
  };
}
