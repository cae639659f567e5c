// Test support: small DICOM instances for the network tests (a Basic Text SR standing for a result).
import { newUid, writePart10 } from '../exports/dicom';
import { SOP_CLASSES } from './dicom';

/** A Basic Text SR of a study, as a Part 10 file, with its UIDs. */
export function srInstance(o: { studyInstanceUid: string; patientId: string; patientName?: string; text: string; sopInstanceUid?: string }): { bytes: Uint8Array; sopInstanceUid: string; seriesInstanceUid: string } {
  const sopInstanceUid = o.sopInstanceUid ?? newUid();
  const seriesInstanceUid = newUid();
  const text = o.text;
  const bytes = writePart10({
    SOPClassUID: SOP_CLASSES.basicTextSr,
    SOPInstanceUID: sopInstanceUid,
    StudyInstanceUID: o.studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    PatientID: o.patientId,
    PatientName: o.patientName ?? 'TEST^PATIENT',
    Modality: 'SR',
    SeriesNumber: 900,
    InstanceNumber: 1,
    SeriesDescription: 'Test result',
    ContentDate: '20261128',
    ContentTime: '120000',
    ValueType: 'CONTAINER',
    ContinuityOfContent: 'SEPARATE',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ConceptNameCodeSequence: [{ CodeValue: '18748-4', CodingSchemeDesignator: 'LN', CodeMeaning: 'Diagnostic imaging report' }],
    ContentSequence: [{ RelationshipType: 'CONTAINS', ValueType: 'TEXT', ConceptNameCodeSequence: [{ CodeValue: '121071', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Finding' }], TextValue: text }],
  });
  return { bytes, sopInstanceUid, seriesInstanceUid };
}

/** A CR image whose header promises more pixels than it carries: well-formed DICOM that no decoder can use. */
export function brokenImage(seed: number): Uint8Array {
  const uid = (n: number) => `2.25.${seed * 1000003 + n}`;
  return writePart10(
    {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
      SOPInstanceUID: uid(3),
      StudyInstanceUID: uid(1),
      SeriesInstanceUID: uid(2),
      PatientID: `BROKEN${seed}`,
      PatientName: 'BROKEN^IMAGE',
      Modality: 'CR',
      Rows: 1024,
      Columns: 1024,
      BitsAllocated: 16,
      BitsStored: 12,
      HighBit: 11,
      PixelRepresentation: 0,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      PixelData: [new Uint16Array(64 * 64).buffer],
    },
    { PixelData: 'OW' },
  );
}
