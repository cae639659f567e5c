// Contract domain: Report drafting and questions about the image (issue 5).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

const Side = z.enum(['right', 'left']);
const Zone = z.enum(['upper', 'middle', 'lower']);
const LesionKind = z.enum(['active', 'obsolete', 'other']);
const Fingerprint = z.string().regex(/^[0-9a-f]{64}$/, 'a findings fingerprint is 64 hex digits');

/** A finding the report rests on: kept by the reader (never a rejected one), with its lung and zones. */
export const ReportFinding = z.object({
  id: z.string(),
  imageId: z.number().int(),
  label: z.string(),
  kind: LesionKind,
  side: Side,
  /** the zones it covers, upper to lower */
  zones: z.array(Zone),
  /** how the zone was found: the reader's lung masks, the model's lung outlines, or the image's halves */
  zoneMethod: z.enum(['lung_mask', 'lung_outline', 'image_halves']),
  /** the model's confidence in the box, or null for a box the reader drew */
  score: z.number().nullable(),
  source: z.enum(['ai', 'user']),
  state: z.enum(['proposed', 'accepted', 'edited', 'added']),
  box: z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() }),
});
export type ReportFinding = z.infer<typeof ReportFinding>;

export const ReportImageFacts = z.object({
  imageId: z.number().int(),
  modality: z.string().nullable(),
  view: z.string().nullable(),
  sourceFormat: z.string(),
  /** the score and threshold in force (a site head's score and a site threshold where the station has them) */
  ai: z.object({
    tbScore: z.number(),
    threshold: z.number(),
    modelName: z.string(),
    modelVersion: z.string(),
    thresholdSource: z.enum(['pack', 'site']).optional(),
    thresholdVersion: z.number().int().nullable().optional(),
    siteHead: z.number().int().nullable().optional(),
  }).nullable(),
  findings: z.array(ReportFinding),
  rejected: z.number().int(),
  annotationVersion: z.number().int(),
});

export const ReportSections = z.object({
  technique: z.string(),
  findings: z.string(),
  impression: z.string(),
  aiScore: z.string(),
  recommendation: z.string(),
});
export type ReportSections = z.infer<typeof ReportSections>;

/** A case's report as it stands (electron/core/reporting loadReport). */
export const ReportView = z.object({
  caseId: z.number().int(),
  text: z.string(),
  /** the sections, while the text keeps the draft's headings */
  sections: ReportSections.nullable(),
  /** draft: written from the findings and following them; edited: the reader's own text */
  source: z.enum(['draft', 'edited']),
  /** the reader's text was written against other findings: offer a re-draft */
  stale: z.boolean(),
  /** the latest stored version; send it as baseVersion with the next save or re-draft */
  version: z.number().int().min(0),
  author: z.string().nullable(),
  savedAt: z.string().nullable(),
  findingsFingerprint: Fingerprint,
  /** what a re-draft would write now */
  draftText: z.string(),
  /** signed and not under amendment: the text cannot change */
  locked: z.boolean(),
  signed: z.object({ sequence: z.number().int(), signerName: z.string(), signedAt: z.string() }).nullable(),
  facts: z.object({ caseId: z.number().int(), images: z.array(ReportImageFacts) }),
});
export type ReportView = z.infer<typeof ReportView>;

export const ReportVersion = z.object({
  version: z.number().int(),
  source: z.enum(['draft', 'edited']),
  text: z.string(),
  author: z.string(),
  savedAt: z.string(),
  findingsFingerprint: z.string(),
});

export const VqaEvidence = z.object({
  findings: z.array(z.object({ id: z.string(), label: z.string(), kind: LesionKind, side: Side, zones: z.array(Zone), score: z.number().nullable(), source: z.enum(['ai', 'user']), state: z.string() })),
  zones: z.array(z.object({ side: Side, zone: Zone })),
  tbScore: z.number().nullable(),
  threshold: z.number().nullable(),
  /** "pack default" or "site calibration version N" */
  thresholdOrigin: z.string().nullable(),
  model: z.string().nullable(),
});

export const VqaAnswer = z.object({
  /** closed questions: begins with "Yes" or "No" */
  answer: z.string(),
  type: z.enum(['closed', 'open', 'unsupported']),
  evidence: VqaEvidence,
  /** which question it was taken to be (tb, side, zone, active, obsolete, normal, where, count, score, confidence, type, unsupported, unknown) */
  intent: z.string(),
});
export type VqaAnswer = z.infer<typeof VqaAnswer>;

const CaseRef = z.object({ caseId: z.number().int() });

export const reportingCalls = {
  'report:get': { request: CaseRef, response: ReportView },
  'report:save': {
    request: z.object({
      caseId: z.number().int(),
      baseVersion: z.number().int().min(0),
      text: z.string().max(100_000),
      /** the fingerprint report:get gave with the text being edited */
      findingsFingerprint: Fingerprint.optional(),
    }),
    response: ReportView,
  },
  'report:redraft': { request: z.object({ caseId: z.number().int(), baseVersion: z.number().int().min(0) }), response: ReportView },
  'report:versions': { request: CaseRef, response: z.object({ versions: z.array(ReportVersion) }) },
  'vqa:ask': { request: z.object({ imageId: z.number().int(), question: z.string().trim().min(1).max(500) }), response: VqaAnswer },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const reportingEvents = {
  /** a report's text was saved or re-drafted (another window showing it reloads) */
  'report:onChanged': z.object({ caseId: z.number().int(), version: z.number().int() }),
} as const satisfies Record<string, z.ZodType>;
