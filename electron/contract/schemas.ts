// The contract's shared schemas: cases, images, the model's reading. Domain modules import from here (never from
// index.ts, which imports them).
import { z } from 'zod';

export const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes (Uint8Array)');

export const ErrorInfo = z.object({
  code: z.string(),
  message: z.string(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

export const Result = <T extends z.ZodType>(value: T) =>
  z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), value }), z.object({ ok: z.literal(false), error: ErrorInfo })]);

export const CaseStatus = z.enum(['new', 'analyzed', 'in_review', 'signed']);
export type CaseStatus = z.infer<typeof CaseStatus>;

export const WorklistSortKey = z.enum(['patientName', 'patientId', 'studyDate', 'modality', 'status', 'aiScore', 'importedAt']);
export type WorklistSortKey = z.infer<typeof WorklistSortKey>;

export const WorklistQuery = z.object({
  sort: z.object({ key: WorklistSortKey, dir: z.enum(['asc', 'desc']) }).default({ key: 'importedAt', dir: 'desc' }),
  filter: z
    .object({
      text: z.string().max(200).optional(),
      status: CaseStatus.optional(),
      modality: z.string().max(16).optional(),
      /** only the flagged cases: read by the model pack in use, AI score at or above the operating threshold in force */
      flagged: z.boolean().optional(),
    })
    .default({}),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(100),
});
export type WorklistQuery = z.input<typeof WorklistQuery>;

export const WorklistRow = z.object({
  caseId: z.number().int(),
  patientName: z.string(),
  patientId: z.string(),
  studyDate: z.string().nullable(),
  modality: z.string().nullable(),
  view: z.string().nullable(),
  description: z.string().nullable(),
  status: CaseStatus,
  /** the case's TB score in force (the highest of its images): the pack's own, or a site head's (aiScoreHead) */
  aiScore: z.number().nullable(),
  /** the site head that produced aiScore; null: the model pack's own TB score */
  aiScoreHead: z.number().int().nullable(),
  /**
   * the triage flag: aiScore, read by the model pack in use, is at or above the operating threshold in force (see
   * cases:list's threshold); false for a case without a score
   */
  flagged: z.boolean(),
  /** aiScore comes from another model than the one in use (the case awaits its reading by the new pack): not flagged */
  aiScoreStale: z.boolean(),
  imageCount: z.number().int(),
  firstImageId: z.number().int().nullable(),
  importedAt: z.string(),
  /** the signed case this one follows: an image of its study arrived after it was signed */
  followsCaseId: z.number().int().nullable(),
  /** no AI score because the model found no two plausible lung fields in the case's images (not a chest X-ray?) */
  aiOutOfScope: z.boolean(),
});
export type WorklistRow = z.infer<typeof WorklistRow>;

export const WindowPreset = z.object({ name: z.string(), center: z.number(), width: z.number().positive() });
export type WindowPreset = z.infer<typeof WindowPreset>;

/** Everything the viewer needs to display an image, except the pixels themselves. */
export const ImageInfo = z.object({
  imageId: z.number().int(),
  caseId: z.number().int(),
  sopInstanceUid: z.string(),
  rows: z.number().int().positive(),
  columns: z.number().int().positive(),
  bitsStored: z.number().int(),
  photometric: z.enum(['MONOCHROME1', 'MONOCHROME2']),
  /** modality value = stored pixel value * rescaleSlope + rescaleIntercept (pixels are sent as unsigned 16-bit). */
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  /** [row spacing, column spacing] in mm, or null when the file does not say. */
  pixelSpacing: z.tuple([z.number().positive(), z.number().positive()]).nullable(),
  /** Smallest and largest stored pixel value. */
  minPixel: z.number(),
  maxPixel: z.number(),
  /** Window presets in modality units: the file's own windows first, then Auto and Full range. */
  windows: z.array(WindowPreset).min(1),
  /** the preset the viewer opens the image with (the file's window when it is plausible for the image, else Auto), and why */
  initialWindow: z.object({ index: z.number().int().min(0), source: z.enum(['file', 'auto']), reason: z.string() }),
  modality: z.string().nullable(),
  view: z.string().nullable(),
  sourceName: z.string(),
  transferSyntax: z.string().nullable(),
});
export type ImageInfo = z.infer<typeof ImageInfo>;

export const CaseDetail = z.object({
  caseId: z.number().int(),
  studyInstanceUid: z.string(),
  patientName: z.string(),
  patientId: z.string(),
  patientSex: z.string().nullable(),
  patientBirthDate: z.string().nullable(),
  studyDate: z.string().nullable(),
  accessionNumber: z.string().nullable(),
  description: z.string().nullable(),
  status: CaseStatus,
  images: z.array(ImageInfo),
  /** the signed case this one follows (an image of its study arrived after it was signed), or null */
  followsCaseId: z.number().int().nullable(),
  /** cases opened for images of this study that arrived after this case was signed */
  followUpCaseIds: z.array(z.number().int()),
});
export type CaseDetail = z.infer<typeof CaseDetail>;

export const ImportOutcome = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('imported'),
    caseId: z.number().int(),
    imageId: z.number().int(),
    sopInstanceUid: z.string(),
    /** set when the image went to a follow-up case because its study's case is signed: the signed case */
    followsCaseId: z.number().int().nullable().optional(),
  }),
  z.object({
    status: z.literal('duplicate'),
    caseId: z.number().int(),
    imageId: z.number().int(),
    reason: z.string(),
  }),
]);
export type ImportOutcome = z.infer<typeof ImportOutcome>;

export const Point = z.tuple([z.number(), z.number()]);

/** The operating threshold in force, as the worklist and the AI panel show it (see the site domain for the whole). */
export const OperatingThreshold = z.object({
  value: z.number(),
  /** pack: the model pack's default; site: a site calibration version */
  source: z.enum(['pack', 'site']),
  version: z.number().int().nullable(),
  /** the site head whose scores it applies to; null: the pack's own TB score */
  headId: z.number().int().nullable(),
  /** "pack default" or "site calibration version N" */
  label: z.string(),
});
export type OperatingThreshold = z.infer<typeof OperatingThreshold>;

/** The model's reading of one image, in original pixel coordinates, as stored (never overwritten). */
export const AnalysisView = z.object({
  imageId: z.number().int(),
  /** the pack's own TB score (the AI's original) */
  tbScore: z.number().min(0).max(100),
  /** the pack's default operating threshold, as recorded with the reading (null: the reading did not record one) */
  threshold: z.number().nullable(),
  /**
   * what the station uses now, and what the worklist, the draft, the answers and the exports say too: the score in
   * force (a site head's, where one is in force) against the threshold in force, and the triage flag; null when the
   * reading recorded no threshold (nothing is flagged then)
   */
  inForce: z.object({
    score: z.number().min(0).max(100),
    headId: z.number().int().nullable(),
    threshold: OperatingThreshold,
    flagged: z.boolean(),
    /** why a site head in force could not score this reading */
    note: z.string().nullable(),
  }).nullable(),
  label: z.string(),
  probabilities: z.array(z.object({ name: z.string(), p: z.number() })),
  boxes: z.array(z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number(), label: z.string(), score: z.number() })),
  /** when no box reached the pack's display score: the model's strongest regions below it, low confidence, never findings */
  candidates: z.array(z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number(), label: z.string(), score: z.number() })),
  /** the pack's display score: boxes scoring at least this are proposed as findings (null: not recorded) */
  displayScore: z.number().nullable(),
  lungs: z.object({ right: z.array(Point), left: z.array(Point) }),
  zones: z.array(
    z.object({
      box: z.number().int(),
      side: z.enum(['right', 'left']),
      zone: z.enum(['upper', 'middle', 'lower']),
      overlap: z.number(),
      method: z.enum(['lung_mask', 'image_halves']),
    }),
  ),
  /** coarse evidence heatmap: width*height bytes (0..255), covering the image from `origin` in cells of `cell` pixels */
  evidence: z.object({ width: z.number().int(), height: z.number().int(), origin: Point, cell: Point, grid: bytes }).nullable(),
  timingsMs: z.record(z.string(), z.number()),
  model: z.object({ name: z.string(), version: z.string(), ep: z.string() }),
  createdAt: z.string(),
});
export type AnalysisView = z.infer<typeof AnalysisView>;

export const AnalysisProgress = z.object({
  pending: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  currentImageId: z.number().int().nullable(),
  model: z.object({ name: z.string(), version: z.string(), ep: z.string() }).nullable(),
  modelError: ErrorInfo.nullable(),
});
export type AnalysisProgress = z.infer<typeof AnalysisProgress>;

/** Largest file the workstation accepts (a 43 x 43 cm detector at 0.1 mm, 16 bit, is about 37 MB). */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;


export const coreCalls = {
  'app:info': {
    request: z.object({}),
    response: z.object({
      name: z.string(),
      version: z.string(),
      schemaVersion: z.number().int(),
      dataDir: z.string(),
      transport: z.enum(['ipc', 'http']),
    }),
  },
  'import:file': {
    request: z.object({ name: z.string().min(1).max(4096), bytes: bytes.refine((b) => b.byteLength <= MAX_IMPORT_BYTES, 'file too large') }),
    response: ImportOutcome,
  },
  'cases:list': {
    request: WorklistQuery,
    /** threshold: the operating threshold in force that `flagged` compares aiScore with (null without a model pack) */
    response: z.object({ total: z.number().int(), rows: z.array(WorklistRow), threshold: OperatingThreshold.nullable() }),
  },
  'cases:get': {
    request: z.object({ caseId: z.number().int() }),
    response: CaseDetail,
  },
  'images:pixels': {
    request: z.object({ imageId: z.number().int() }),
    /** rows * columns unsigned 16-bit little-endian stored values, row-major. */
    response: z.object({ imageId: z.number().int(), bytes }),
  },
  'analysis:status': {
    request: z.object({}),
    response: AnalysisProgress,
  },
  'analysis:get': {
    request: z.object({ imageId: z.number().int() }),
    response: z.object({ analysis: AnalysisView.nullable(), failure: ErrorInfo.nullable() }),
  },
} as const;

/** Events of the core domain. */
export const coreEvents = {
  'cases:onChanged': z.object({ caseIds: z.array(z.number().int()) }),
  'analysis:onProgress': AnalysisProgress,
} as const;
