// The PDF report as a DICOM Encapsulated PDF (for the PACS): a new DOC series of the source image's study, naming
// the radiograph it reports on, with the patient and study attributes copied.
import { code, dateTimeParts, equipment, newUid, patientAndStudy, SOP_CLASS, sopCommon, text, writePart10, type Naturalized } from './dicom';
import { verifiedSignature, type ExportInput } from './types';

export const PDF_SERIES_NUMBER = 902;

export function buildEncapsulatedPdf(input: ExportInput, pdf: Uint8Array, uids: { series?: string; instance?: string } = {}): Uint8Array {
  const t = dateTimeParts(input.generatedAt);
  const signed = verifiedSignature(input.signature) !== null;
  // The document's bytes, padded to an even length as OB values are (Encapsulated Document Length keeps the real one).
  const doc = new Uint8Array(pdf.byteLength + (pdf.byteLength % 2));
  doc.set(pdf);
  const ds: Naturalized = {
    ...sopCommon(SOP_CLASS.encapsulatedPdf, uids.instance ?? newUid(), input.generatedAt),
    ...patientAndStudy(input),
    ...equipment(input),
    // Encapsulated Document Series
    Modality: 'DOC',
    SeriesInstanceUID: uids.series ?? newUid(),
    SeriesNumber: PDF_SERIES_NUMBER,
    SeriesDescription: 'Chest X-ray report (PDF)',
    SeriesDate: t.date,
    SeriesTime: t.time,
    // SC Equipment: made by a workstation
    ConversionType: 'WSD',
    // Encapsulated Document
    InstanceNumber: 1,
    ContentDate: t.date,
    ContentTime: t.time,
    AcquisitionDateTime: t.dateTime,
    BurnedInAnnotation: 'YES',
    RecognizableVisualFeatures: 'NO',
    DocumentTitle: text(signed ? 'Chest X-ray report' : 'Chest X-ray report (DRAFT, not signed)', 64),
    ConceptNameCodeSequence: [code('18748-4', 'LN', 'Diagnostic imaging report')],
    VerificationFlag: signed ? 'VERIFIED' : 'UNVERIFIED',
    SourceInstanceSequence: [{ ReferencedSOPClassUID: input.source.sopClassUid, ReferencedSOPInstanceUID: input.source.sopInstanceUid }],
    MIMETypeOfEncapsulatedDocument: 'application/pdf',
    EncapsulatedDocumentLength: pdf.byteLength,
    EncapsulatedDocument: doc.buffer,
  };
  return writePart10(ds, { EncapsulatedDocument: 'OB' });
}
