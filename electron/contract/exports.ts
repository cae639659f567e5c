// Contract domain: PDF, DICOM SR, DICOM SEG, encapsulated-PDF DICOM and JSON exports of a case (issue 5).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';
import { bytes } from './schemas';

/** pdf: the report; sr: DICOM SR (TID 1500); seg: DICOM SEG of the masks; pdf-dicom: the PDF in DICOM; json: the whole case */
export const ExportFormat = z.enum(['pdf', 'sr', 'seg', 'pdf-dicom', 'json']);
export type ExportFormat = z.infer<typeof ExportFormat>;

export const EXPORT_FORMAT_NAMES: Readonly<Record<ExportFormat, string>> = {
  pdf: 'PDF report',
  sr: 'DICOM SR (measurements, TID 1500)',
  seg: 'DICOM SEG (masks)',
  'pdf-dicom': 'PDF report in DICOM (for the PACS)',
  json: 'JSON (whole case)',
};

export const ExportFile = z.object({
  format: ExportFormat,
  /** a file name to save it under: patient ID, study date, kind */
  fileName: z.string(),
  mediaType: z.string(),
  bytes,
  /** what the reader of the export should know (no report yet, a draft, identity generated for a PNG import) */
  notes: z.array(z.string()),
});
export type ExportFile = z.infer<typeof ExportFile>;

export const exportCalls = {
  /** Build an export of a case as it stands now; the caller saves the bytes. Recorded in the audit log. */
  'exports:build': {
    request: z.object({
      caseId: z.number().int(),
      format: ExportFormat,
      /** the image the findings are on (default: the case's image with the highest TB score) */
      imageId: z.number().int().optional(),
    }),
    response: ExportFile,
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const exportEvents = {} as const satisfies Record<string, z.ZodType>;
