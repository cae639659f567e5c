// Exports of a case (issue 5): the PDF report, DICOM SR (TID 1500), DICOM SEG, the PDF encapsulated in DICOM, and a
// JSON document of the whole case. Each builder is a pure function of one ExportInput (gather.ts reads it from the
// store) returning the file's bytes, so that the CLI, the UI and the DICOM network sender share them.
import { ExportFormat } from '../../contract/exports';
import { AppError } from '../errors';
import { appendAudit, type AuditActor } from '../accounts/index';
import type { CaseStore } from '../store/index';
import { gatherExportInput, type GatherOptions } from './gather';
import { buildJson } from './json';
import { buildPdf } from './pdf';
import { buildEncapsulatedPdf } from './pdfDicom';
import { buildSeg, segmentsOf } from './seg';
import { buildSr } from './sr';
import { newUid, SOP_CLASS } from './dicom';
import { verifiedSignature, type ExportInput } from './types';
import { writeFileAtomic } from './write';

export { gatherExportInput, exportMasks, matchesOutline, packBits, type GatherOptions } from './gather';
export { buildJson, caseDocument, JSON_EXPORT_FORMAT } from './json';
export { buildPdf, DRAFT_MARK } from './pdf';
export { buildEncapsulatedPdf } from './pdfDicom';
export { buildSeg, segmentsOf, packFramesLsbFirst } from './seg';
export { buildSr, boxPolyline, reportedFindings } from './sr';
export { renderKeyImage } from './render';
export { newUid, SOP_CLASS } from './dicom';
export { writeFileAtomic } from './write';
export { verifiedSignature } from './types';
export type { ExportInput, ExportMask, SegmentAlgorithmType, SignatureInfo, ReportSection } from './types';

export const EXPORT_FORMATS = ExportFormat.options;

export interface BuiltExport {
  format: ExportFormat;
  bytes: Uint8Array;
  /** a file name for the export: patient ID, study date, kind */
  fileName: string;
  mediaType: string;
  /** what the reader of the export should know (no report yet, identity generated for a PNG import, ...) */
  notes: string[];
}

const KIND: Record<ExportFormat, { suffix: string; mediaType: string }> = {
  pdf: { suffix: 'report.pdf', mediaType: 'application/pdf' },
  sr: { suffix: 'sr.dcm', mediaType: 'application/dicom' },
  seg: { suffix: 'seg.dcm', mediaType: 'application/dicom' },
  'pdf-dicom': { suffix: 'report-pdf.dcm', mediaType: 'application/dicom' },
  json: { suffix: 'case.json', mediaType: 'application/json' },
};

export function isExportFormat(f: unknown): f is ExportFormat {
  return typeof f === 'string' && (EXPORT_FORMATS as readonly string[]).includes(f);
}

export function exportFileName(input: ExportInput, format: ExportFormat): string {
  const id = (input.patient.id || `case${input.caseId}`).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
  const date = /^\d{8}$/.test(input.study.studyDate ?? '') ? `_${input.study.studyDate}` : '';
  return `${id}${date}_${KIND[format].suffix}`;
}

/** Build one export from gathered input. */
export async function buildExport(input: ExportInput, format: ExportFormat): Promise<BuiltExport> {
  let bytes: Uint8Array;
  switch (format) {
    case 'pdf':
      bytes = await buildPdf(input);
      break;
    case 'sr':
      bytes = buildSr(input);
      break;
    case 'seg':
      bytes = buildSeg(input);
      break;
    case 'pdf-dicom':
      bytes = buildEncapsulatedPdf(input, await buildPdf(input));
      break;
    case 'json':
      bytes = buildJson(input);
      break;
    default:
      throw new AppError('BAD_REQUEST', `Unknown export format ${String(format)}; formats: ${EXPORT_FORMATS.join(', ')}.`);
  }
  const notes = [...input.notes];
  if (!input.report) notes.push('No report text exists for this case.');
  if (input.signature.state === 'unsigned') notes.push('The case is not signed: the export is a draft.');
  else if (!verifiedSignature(input.signature) && !input.signature.amendmentOpen) notes.push('What is exported is not what was signed: the export is a draft.');
  return { format, bytes, fileName: exportFileName(input, format), mediaType: KIND[format].mediaType, notes };
}

export interface DicomResult {
  format: 'sr' | 'seg' | 'pdf-dicom';
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  bytes: Uint8Array;
}

/**
 * The DICOM objects of a case for a PACS: the SR, the SEG (when the case has masks) and the encapsulated PDF, each in
 * a new series of the source image's study, with the UIDs they were given (for a send log).
 */
export async function buildDicomResults(input: ExportInput): Promise<DicomResult[]> {
  const out: DicomResult[] = [];
  const make = (format: DicomResult['format'], sopClassUid: string, build: (uids: { series: string; instance: string }) => Uint8Array) => {
    const uids = { series: newUid(), instance: newUid() };
    out.push({ format, sopClassUid, sopInstanceUid: uids.instance, seriesInstanceUid: uids.series, bytes: build(uids) });
  };
  make('sr', SOP_CLASS.comprehensiveSr, (u) => buildSr(input, u));
  if (segmentsOf(input.masks, input.image.rows, input.image.columns).length) make('seg', SOP_CLASS.segmentation, (u) => buildSeg(input, u));
  const pdf = await buildPdf(input);
  make('pdf-dicom', SOP_CLASS.encapsulatedPdf, (u) => buildEncapsulatedPdf(input, pdf, u));
  return out;
}

async function produce(store: CaseStore, caseId: number, format: ExportFormat, opts: GatherOptions): Promise<{ input: ExportInput; built: BuiltExport }> {
  if (!isExportFormat(format)) throw new AppError('BAD_REQUEST', `Unknown export format ${String(format)}; formats: ${EXPORT_FORMATS.join(', ')}.`);
  const input = gatherExportInput(store, caseId, opts);
  return { input, built: await buildExport(input, format) };
}

/** An export takes patient data off the station: the audit log records who took what. */
function audit(store: CaseStore, actor: AuditActor, input: ExportInput, built: BuiltExport, file: string | null): void {
  appendAudit(store.db, {
    actor,
    action: 'case.export',
    target: { type: 'case', id: input.caseId },
    details: { format: built.format, imageId: input.source.imageId, bytes: built.bytes.byteLength, signed: verifiedSignature(input.signature) !== null, file },
  });
}

/** Gather and build an export of a case (the caller delivers the bytes), and record it in the audit log. */
export async function exportCase(store: CaseStore, caseId: number, format: ExportFormat, actor: AuditActor, opts: GatherOptions = {}): Promise<BuiltExport> {
  const { input, built } = await produce(store, caseId, format, opts);
  audit(store, actor, input, built, null);
  return built;
}

/** exportCase written to a file atomically (temp file + rename); recorded in the audit log once the file is in place. */
export async function exportCaseToFile(store: CaseStore, caseId: number, format: ExportFormat, file: string, actor: AuditActor, opts: GatherOptions = {}): Promise<BuiltExport & { file: string }> {
  const { input, built } = await produce(store, caseId, format, opts);
  writeFileAtomic(file, built.bytes);
  audit(store, actor, input, built, file);
  return { ...built, file };
}
