// Contract domain: Reviewing and correcting the AI findings on the canvas (issue 4): findings, masks, versions.
// Import shared schemas from './schemas' (never from './index', which imports this module).
//
// A finding keeps who made it and what the reader decided (in the spirit of IHE AI Results / AI Result Assessment):
// `provenance.source` 'ai' (with the model) or 'user' (with the author), `state` proposed / accepted / rejected /
// edited / added, and for AI findings the model's `aiOriginal`, never overwritten. Masks cross bit-packed (8 pixels
// a byte, most significant bit first, row-major over the whole image: ceil(width * height / 8) bytes).
import { z } from 'zod';
import { bytes, ErrorInfo, Point } from './schemas';

export const MaskLabel = z.enum(['right_lung', 'left_lung', 'lesion']);
export type MaskLabel = z.infer<typeof MaskLabel>;

/** The TBX11K lesion categories a box may carry (the model's labels; a person picks from the same list). */
export const LESION_LABELS = ['ActiveTuberculosis', 'ObsoletePulmonaryTuberculosis'] as const;
export const LESION_LABEL_NAMES: Record<string, string> = {
  ActiveTuberculosis: 'active TB',
  ObsoletePulmonaryTuberculosis: 'obsolete / latent TB',
};

const Geometry = { x: z.number(), y: z.number(), w: z.number().nonnegative(), h: z.number().nonnegative() };

export const FindingState = z.enum(['proposed', 'accepted', 'rejected', 'edited', 'added']);
export type FindingState = z.infer<typeof FindingState>;

export const Provenance = z.object({
  source: z.enum(['ai', 'user']),
  model: z.object({ name: z.string(), version: z.string() }).optional(),
  /** who added the finding (user findings) */
  author: z.string().optional(),
  /** who last changed or decided on it, and when (set by the editor on every change a person makes) */
  changedBy: z.string().optional(),
  changedAt: z.string().optional(),
});
export type Provenance = z.infer<typeof Provenance>;

export const Finding = z.object({
  id: z.string().min(1).max(100),
  kind: z.literal('box'),
  ...Geometry,
  label: z.string().min(1).max(100),
  score: z.number().optional(),
  provenance: Provenance,
  state: FindingState,
  /** what the model proposed, unchanged, for AI findings */
  aiOriginal: z.object({ ...Geometry, label: z.string(), score: z.number() }).optional(),
});
export type Finding = z.infer<typeof Finding>;

/** A mask as saved and loaded: its pixels bit-packed. */
export const PackedMask = z.object({
  id: z.string().min(1).max(100),
  label: MaskLabel,
  /** 'ai' when rasterised from the model's outline (and maybe edited since), 'user' when a person started it */
  source: z.enum(['ai', 'user']),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  packed: bytes,
});
export type PackedMask = z.infer<typeof PackedMask>;

/**
 * A mask sent deflated (zlib, RFC 1950) over its bit-packed pixels: a 3000 x 3000 mask is 1.1 MB packed and tens of
 * kilobytes deflated, so the editor compresses before sending; the station inflates and checks the size.
 */
export const DeflatedMask = PackedMask.omit({ packed: true }).extend({ deflated: bytes });
export type DeflatedMask = z.infer<typeof DeflatedMask>;

/** A mask unchanged since the base version: its pixels are not sent again. */
export const KeptMask = z.object({ id: z.string().min(1).max(100), keep: z.literal(true) });

/**
 * A mask changed in one region since the base version: only the pixels of the rows that changed are sent, run-length
 * coded, and the station writes them over the base version's mask of the same id (its label and source carry over)
 * to store the new version's mask whole. `start` and `length` are pixel indices (row-major over the whole image:
 * rows y0..y1 are start y0 * width, length (y1 - y0 + 1) * width); `rle` is runs of (value byte 0 or 1, length as
 * LEB128), `length` pixels in all. A brush stroke or an undo of a lasso over half the image sends kilobytes, not the
 * 1.1 MB of a 3000 x 3000 mask, and nothing is packed or deflated over the whole image on either side.
 */
export const PatchedMask = z.object({
  id: z.string().min(1).max(100),
  patch: z.object({ start: z.number().int().min(0), length: z.number().int().min(0), rle: bytes }),
});
export type PatchedMask = z.infer<typeof PatchedMask>;

export const AnnotationSaveRequest = z.object({
  imageId: z.number().int(),
  /** the version this edit was made on; 0 when it was made on the AI's proposal */
  baseVersion: z.number().int().min(0),
  findings: z.array(Finding).max(10_000),
  /**
   * every mask of the new version: its pixels (packed, or packed and deflated), a `patch` of the bytes changed since
   * the base version, or `keep` for one unchanged since the base version
   */
  masks: z.array(z.union([PackedMask, DeflatedMask, PatchedMask, KeptMask])).max(64),
});
export type AnnotationSaveRequest = z.input<typeof AnnotationSaveRequest>;

export const AiLungs = z.object({ right: z.array(Point), left: z.array(Point) });

/** An image's annotations as the editor opens them: the latest version, or the AI's proposal (version 0). */
export const AnnotationStateView = z.object({
  imageId: z.number().int(),
  caseId: z.number().int(),
  /** 0: nothing saved yet, the findings are the AI's proposal */
  version: z.number().int().min(0),
  author: z.string().nullable(),
  savedAt: z.string().nullable(),
  analysisId: z.number().int().nullable(),
  findings: z.array(Finding),
  masks: z.array(PackedMask),
  /** the model's lung outlines (image pixels): the lung masks of version 0, and the AI's original beside edits */
  aiLungs: AiLungs.nullable(),
  /** why the annotations cannot be changed now (a signed case), or null when they can */
  locked: ErrorInfo.nullable(),
});
export type AnnotationStateView = z.infer<typeof AnnotationStateView>;

export const AnnotationVersionInfo = z.object({
  version: z.number().int(),
  author: z.string(),
  savedAt: z.string(),
  analysisId: z.number().int().nullable(),
  findingCount: z.number().int(),
  maskCount: z.number().int(),
});
export type AnnotationVersionInfo = z.infer<typeof AnnotationVersionInfo>;

export const AnnotationSaved = z.object({
  imageId: z.number().int(),
  caseId: z.number().int(),
  version: z.number().int(),
  author: z.string(),
  savedAt: z.string(),
  /** masks whose pixels were new to the store (the others were already stored, bit for bit) */
  masksWritten: z.number().int(),
});
export type AnnotationSaved = z.infer<typeof AnnotationSaved>;

/** The model's boxes as findings awaiting the reader's decision (ids stable per analysis: `ai-<analysis>-<index>`). */
export function proposalFindings(analysis: {
  id: number;
  model: { name: string; version: string };
  boxes: readonly { x: number; y: number; w: number; h: number; label: string; score: number }[];
}): Finding[] {
  return analysis.boxes.map((b, i) => ({
    id: `ai-${analysis.id}-${i}`,
    kind: 'box' as const,
    x: b.x,
    y: b.y,
    w: b.w,
    h: b.h,
    label: b.label,
    score: b.score,
    provenance: { source: 'ai' as const, model: { name: analysis.model.name, version: analysis.model.version } },
    state: 'proposed' as const,
    aiOriginal: { x: b.x, y: b.y, w: b.w, h: b.h, label: b.label, score: b.score },
  }));
}

export const annotationCalls = {
  'annotations:get': {
    request: z.object({ imageId: z.number().int() }),
    response: AnnotationStateView,
  },
  /** Save the reader's annotations as a new version; the author is whoever is signed in at the station. */
  'annotations:save': {
    request: AnnotationSaveRequest,
    /** the findings as stored: with who changed each and when, as the station recorded it */
    response: AnnotationSaved.extend({ findings: z.array(Finding) }),
  },
  'annotations:versions': {
    request: z.object({ imageId: z.number().int() }),
    response: z.object({ imageId: z.number().int(), versions: z.array(AnnotationVersionInfo) }),
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const annotationEvents = {
  /** a new version of an image's annotations was saved (the report re-drafts from it) */
  'annotations:onSaved': AnnotationSaved,
} as const satisfies Record<string, z.ZodType>;
