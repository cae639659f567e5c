// The editing document of one image: the findings (boxes, with who made them and what the reader decided) and the
// masks (lungs, lesions), and the changes a tool makes to them. Pure: no DOM, no Node.
//
// Provenance: an AI finding keeps its `aiOriginal` whatever the reader does; deleting an AI finding rejects it
// (the AI's proposal stays visible as rejected), deleting a finding a person added removes it.
import type { Finding, FindingState, MaskLabel, Provenance } from '../../../electron/contract/index';
import type { MaskPixels } from './maskDiff';

export type { Finding, FindingState, MaskLabel, Provenance };

export interface BoxGeometry {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Mask extends MaskPixels {
  id: string;
  label: MaskLabel;
  /** 'ai' when rasterized from the model's outline (and maybe edited since), 'user' when a person started it */
  source: 'ai' | 'user';
}

export interface EditorDoc {
  findings: Record<string, Finding>;
  masks: Record<string, Mask>;
}

/** Smallest box side in image pixels: a box cannot be resized into a line. */
export const MIN_BOX_SIZE = 4;

export function emptyDoc(): EditorDoc {
  return { findings: {}, masks: {} };
}

// ---- changes the tools make; each returns the findings to put, for `history.run({ type: 'findings', put })` ----

function edited(f: Finding, patch: Partial<BoxGeometry & { label: string }>): Finding {
  const next = { ...f, ...patch };
  next.w = Math.max(MIN_BOX_SIZE, next.w);
  next.h = Math.max(MIN_BOX_SIZE, next.h);
  if (f.provenance.source === 'ai' && f.aiOriginal) {
    const o = f.aiOriginal;
    const same = next.x === o.x && next.y === o.y && next.w === o.w && next.h === o.h && next.label === o.label;
    // Moving an AI box back onto its proposal is not an edit; an edited box stays edited until then.
    next.state = same ? (f.state === 'edited' ? 'accepted' : f.state) : 'edited';
  }
  return next;
}

export function moveFinding(f: Finding, x: number, y: number): Finding {
  return edited(f, { x, y });
}

export function resizeFinding(f: Finding, box: BoxGeometry): Finding {
  return edited(f, box);
}

export function relabelFinding(f: Finding, label: string): Finding {
  return edited(f, { label });
}

/** A box a person adds; `author` may be left out, and the station then records whoever saves it. */
export function addedFinding(id: string, box: BoxGeometry, label: string, author?: string): Finding {
  return {
    id,
    kind: 'box',
    x: box.x,
    y: box.y,
    w: Math.max(MIN_BOX_SIZE, box.w),
    h: Math.max(MIN_BOX_SIZE, box.h),
    label,
    provenance: author ? { source: 'user', author } : { source: 'user' },
    state: 'added',
  };
}

export function acceptFinding(f: Finding): Finding {
  return f.state === 'proposed' || f.state === 'rejected' ? { ...f, state: 'accepted' } : f;
}

export function rejectFinding(f: Finding): Finding {
  return f.provenance.source === 'ai' ? { ...f, state: 'rejected' } : f;
}

/** Every proposal still awaiting a decision, accepted: one change, so one undo step. */
export function acceptAllProposed(doc: EditorDoc): Finding[] {
  return Object.values(doc.findings)
    .filter((f) => f.state === 'proposed')
    .map(acceptFinding);
}

/** The change that deletes a finding: AI findings are rejected (kept), added ones removed. */
export function deleteFinding(f: Finding): { put?: Finding[]; remove?: string[] } {
  return f.provenance.source === 'ai' ? { put: [rejectFinding(f)] } : { remove: [f.id] };
}
