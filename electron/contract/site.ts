// Contract domain: site calibration and adaptation. Reference results per case (entered or imported from CSV after a
// preview), the calibration view (ROC, AUC with its interval, threshold table, drift), the versioned site threshold
// with its history and the return to the pack's default, and the site head (fitted, judged, activated), with the
// background re-scoring that follows a change of the score in force.
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';

export const REFERENCE_TESTS = ['xpert', 'culture', 'smear', 'clinical'] as const;
export const ReferenceTest = z.enum(REFERENCE_TESTS);

export const REFERENCE_TEST_NAMES: Record<(typeof REFERENCE_TESTS)[number], string> = {
  xpert: 'Xpert MTB/RIF',
  culture: 'Culture',
  smear: 'Smear microscopy',
  clinical: 'Clinical diagnosis',
};

/** The results each test can have (what the viewer's form offers), with their names. */
export const REFERENCE_RESULTS: Record<(typeof REFERENCE_TESTS)[number], { value: string; name: string }[]> = {
  xpert: [
    { value: 'detected', name: 'MTB detected' },
    { value: 'trace', name: 'MTB detected, trace' },
    { value: 'not_detected', name: 'MTB not detected' },
    { value: 'invalid', name: 'Invalid / error / no result' },
  ],
  culture: [
    { value: 'positive', name: 'Positive' },
    { value: 'negative', name: 'Negative' },
    { value: 'contaminated', name: 'Contaminated' },
  ],
  smear: [
    { value: 'positive', name: 'Positive' },
    { value: 'scanty', name: 'Scanty (positive)' },
    { value: 'negative', name: 'Negative' },
  ],
  clinical: [
    { value: 'tb', name: 'TB' },
    { value: 'not_tb', name: 'Not TB' },
  ],
};

export const ReferenceResultView = z.object({
  id: z.number().int(),
  caseId: z.number().int(),
  test: ReferenceTest,
  result: z.string(),
  date: z.string(),
  note: z.string(),
  source: z.enum(['viewer', 'csv', 'cli']),
  enteredBy: z.string(),
  enteredAt: z.string(),
  withdrawn: z.object({ at: z.string(), by: z.string(), reason: z.string() }).nullable(),
});
export type ReferenceResultView = z.infer<typeof ReferenceResultView>;

export const CaseTruthView = z.object({
  status: z.enum(['positive', 'negative', 'excluded', 'none']),
  decidedBy: z.number().int().nullable(),
  reason: z.string(),
});

export const CaseResultsView = z.object({ results: z.array(ReferenceResultView), truth: CaseTruthView });
export type CaseResultsView = z.infer<typeof CaseResultsView>;

export const PreviewStatus = z.enum(['new', 'already_stored', 'duplicate_in_file', 'conflict', 'unmatched', 'error']);

export const ImportPreviewView = z.object({
  fileName: z.string(),
  fileSha256: z.string(),
  rows: z.array(
    z.object({
      line: z.number().int(),
      status: PreviewStatus,
      caseId: z.number().int().nullable(),
      accession: z.string(),
      patientId: z.string(),
      test: z.string(),
      result: z.string(),
      date: z.string(),
      note: z.string(),
      message: z.string(),
    }),
  ),
  counts: z.record(PreviewStatus, z.number().int()),
  canImport: z.boolean(),
  blockers: z.array(z.string()),
});
export type ImportPreviewView = z.infer<typeof ImportPreviewView>;

const Interval = z.object({ value: z.number(), low: z.number(), high: z.number() });
const RocPoint = z.object({ threshold: z.number().nullable(), tp: z.number().int(), fp: z.number().int(), tpr: z.number(), fpr: z.number() });
const PackKey = z.object({ name: z.string(), version: z.string(), sha256: z.string() });

export const ThresholdInForceView = z.object({
  value: z.number(),
  source: z.enum(['pack', 'site']),
  version: z.number().int().nullable(),
  headId: z.number().int().nullable(),
  packDefault: z.number(),
  pack: PackKey,
  label: z.string(),
  setBy: z.string().nullable(),
  setAt: z.string().nullable(),
});
export type ThresholdInForceView = z.infer<typeof ThresholdInForceView>;

const TableRow = z.object({
  threshold: z.number(),
  tp: z.number().int(),
  fp: z.number().int(),
  tn: z.number().int(),
  fn: z.number().int(),
  sensitivity: z.number().nullable(),
  specificity: z.number().nullable(),
  ppv: z.number().nullable(),
  npv: z.number().nullable(),
  flaggedPer100: z.number().nullable(),
  flaggedPer100Station: z.number().nullable(),
  marks: z.array(z.string()),
});

const Curve = z.object({ auc: Interval.nullable(), roc: z.array(RocPoint) });

export const CalibrationView = z.object({
  pack: PackKey.extend({ defaultThreshold: z.number(), embeddingDim: z.number().int().nullable() }),
  inForce: ThresholdInForceView,
  scorer: z.object({ headId: z.number().int().nullable(), label: z.string() }),
  counts: z.object({ positive: z.number().int(), negative: z.number().int(), excluded: z.number().int(), withoutReading: z.number().int() }),
  warnings: z.array(z.string()),
  base: Curve,
  site: Curve.nullable(),
  table: z.array(TableRow),
  sensitivity90: z.number().nullable(),
  whoTriage: z.object({ sensitivity: z.number(), specificity: z.number() }),
  fingerprint: z.string(),
  stationCases: z.number().int(),
  aucIntervalWidth: z.number().nullable(),
});
export type CalibrationView = z.infer<typeof CalibrationView>;

export const CalibrationVersionView = z.object({
  version: z.number().int(),
  pack: PackKey,
  currentPack: z.boolean(),
  inForce: z.boolean(),
  kind: z.enum(['threshold', 'pack_default']),
  threshold: z.number().nullable(),
  headId: z.number().int().nullable(),
  rule: z.string(),
  nPositive: z.number().int(),
  nNegative: z.number().int(),
  fingerprint: z.string(),
  auc: Interval.nullable(),
  sensitivity: z.number().nullable(),
  specificity: z.number().nullable(),
  note: z.string(),
  by: z.string(),
  at: z.string(),
});
export type CalibrationVersionView = z.infer<typeof CalibrationVersionView>;

export const HeadView = z.object({
  id: z.number().int(),
  pack: PackKey,
  currentPack: z.boolean(),
  active: z.boolean(),
  fingerprint: z.string(),
  fittedBy: z.string(),
  fittedAt: z.string(),
  nPositive: z.number().int(),
  nNegative: z.number().int(),
  lambda: z.number(),
  folds: z.number().int(),
  seed: z.number().int(),
  base: Interval,
  site: Interval,
  gain: Interval,
  eligible: z.boolean(),
  verdict: z.string(),
  roc: z.object({ site: z.array(RocPoint), base: z.array(RocPoint) }),
  table: z.array(TableRow),
  sensitivity90: z.number().nullable(),
});
export type HeadView = z.infer<typeof HeadView>;

const Distribution = z.object({
  n: z.number().int(),
  flagged: z.number().int(),
  flagRate: z.number().nullable(),
  quantiles: z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()]).nullable(),
});

export const DriftView = z.object({
  threshold: z.number(),
  thresholdLabel: z.string(),
  reference: Distribution,
  months: z.array(Distribution.extend({ month: z.string(), ks: z.number().nullable(), ksP: z.number().nullable(), flagZ: z.number().nullable(), warning: z.string().nullable() })),
  warnings: z.array(z.string()),
});
export type DriftView = z.infer<typeof DriftView>;

export const RescoreProgressView = z.object({
  state: z.enum(['idle', 'running']),
  done: z.number().int(),
  total: z.number().int(),
  headId: z.number().int().nullable(),
  /** why the last run stopped short (the next change or start tries again) */
  error: z.string().nullable(),
});
export type RescoreProgressView = z.infer<typeof RescoreProgressView>;

export const SiteStatusView = z.object({
  /** the model pack the station reads with; null while none is loaded */
  pack: PackKey.extend({ defaultThreshold: z.number(), embeddingDim: z.number().int().nullable() }).nullable(),
  /** the operating threshold in force (null without a pack) */
  threshold: ThresholdInForceView.nullable(),
  rescore: RescoreProgressView,
});
export type SiteStatusView = z.infer<typeof SiteStatusView>;

/** Either a threshold on the 0–100 score or "the highest threshold with at least this sensitivity". */
const Choice = z.union([
  z.object({ threshold: z.number().min(0).max(100) }).strict(),
  z.object({ sensitivity: z.number().gt(0).max(1) }).strict(),
]);

const CsvFile = z.object({
  fileName: z.string().min(1).max(500),
  text: z.string().max(6 * 1024 * 1024),
  /** leave out rows that match no case instead of refusing the import */
  skipUnmatched: z.boolean().optional(),
});

const empty = z.object({}).strict();

export const siteCalls = {
  /** anyone signed in: what is in force, and the re-scoring job */
  'site:status': { request: empty, response: SiteStatusView },
  /** anyone signed in: a case's reference results and the truth they give */
  'site:results': { request: z.object({ caseId: z.number().int() }), response: CaseResultsView },
  /** radiologists and administrators */
  'site:addResult': {
    request: z.object({ caseId: z.number().int(), test: z.string().min(1).max(40), result: z.string().min(1).max(40), date: z.string().min(1).max(20), note: z.string().max(2000).optional() }),
    response: CaseResultsView,
  },
  'site:withdrawResult': { request: z.object({ resultId: z.number().int(), reason: z.string().min(1).max(500) }), response: CaseResultsView },
  /** what an import of the file would do; writes nothing */
  'site:previewImport': { request: CsvFile, response: ImportPreviewView },
  /** all the file's new rows in one transaction, or nothing (RESULTS_IMPORT_INVALID) */
  'site:importResults': { request: CsvFile, response: z.object({ preview: ImportPreviewView, written: z.number().int(), importId: z.number().int().nullable() }) },
  /** administrators and lead radiologists */
  'site:calibration': { request: empty, response: CalibrationView },
  'site:history': { request: empty, response: z.object({ versions: z.array(CalibrationVersionView) }) },
  'site:setThreshold': { request: z.object({ choice: Choice, note: z.string().max(2000).optional() }), response: CalibrationVersionView },
  /** back to the pack's default threshold and the pack's own score; null when that is already in force */
  'site:rollback': { request: z.object({ note: z.string().max(2000).optional() }), response: z.object({ version: CalibrationVersionView.nullable() }) },
  'site:heads': { request: empty, response: z.object({ heads: z.array(HeadView) }) },
  'site:fitHead': { request: empty, response: HeadView },
  'site:activateHead': { request: z.object({ headId: z.number().int(), choice: Choice.optional(), note: z.string().max(2000).optional() }), response: CalibrationVersionView },
  'site:drift': { request: empty, response: DriftView },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const siteEvents = {
  /** the threshold or the score in force changed (a new site calibration version) */
  'site:onChanged': z.object({ version: z.number().int().nullable() }),
  /** the re-scoring job's progress */
  'site:onRescore': RescoreProgressView,
} as const satisfies Record<string, z.ZodType>;
