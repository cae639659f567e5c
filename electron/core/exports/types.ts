// What every export is built from: one plain object gathered from the store (gather.ts), so that each builder is a
// pure function of it (and tests, or the DICOM network sender, can build exports without a database).
import type { Finding, MaskLabel } from '../../contract/annotations';

export type SegmentAlgorithmType = 'AUTOMATIC' | 'SEMIAUTOMATIC' | 'MANUAL';

export interface ExportMask {
  id: string;
  label: MaskLabel;
  source: 'ai' | 'user';
  width: number;
  height: number;
  /** bit-packed, most significant bit first, row-major (the annotations' format) */
  packed: Uint8Array;
  /** AI untouched: AUTOMATIC; AI edited by a person: SEMIAUTOMATIC; drawn by a person: MANUAL */
  algorithmType: SegmentAlgorithmType;
  /** where the pixels came from: a saved annotation version, or the model's lung outline (nothing saved yet) */
  origin: 'saved' | 'model_outline';
}

export interface ReportSection {
  title: string;
  text: string;
}

export type SignatureInfo =
  | {
      state: 'signed';
      signerName: string;
      signedAt: string;
      contentSha256: string | null;
      sequence: number;
      amendmentOpen: boolean;
      /**
       * the signature's snapshot holds exactly the case's images, and the exported image with the annotation version
       * and pixels exported: what is exported is what was signed
       */
      coversExport: boolean;
    }
  | { state: 'unsigned' };

/**
 * The signature an export may present as verified (PDF signature block, SR COMPLETE/VERIFIED with the verifying
 * observer, encapsulated PDF VERIFIED): signed, no amendment open, and covering exactly what is exported. Anything
 * else is a draft.
 */
export function verifiedSignature(s: SignatureInfo): Extract<SignatureInfo, { state: 'signed' }> | null {
  return s.state === 'signed' && !s.amendmentOpen && s.coversExport ? s : null;
}

export interface ExportInput {
  /** when this export was made (ISO 8601, UTC) */
  generatedAt: string;
  station: { manufacturer: string; modelName: string; softwareVersion: string; deviceSerialNumber: string };
  caseId: number;
  patient: { name: string; id: string; issuerOfPatientId: string | null; birthDate: string | null; sex: string | null; age: string | null };
  study: {
    studyInstanceUid: string;
    studyDate: string | null;
    studyTime: string | null;
    accessionNumber: string | null;
    studyId: string | null;
    description: string | null;
    referringPhysicianName: string | null;
  };
  /** the image the findings and masks are drawn on (the key image) */
  source: {
    imageId: number;
    /** 'dicom': attributes copied from the stored original; 'generated': a PNG/JPEG import, identity made at import */
    origin: 'dicom' | 'generated';
    sopClassUid: string;
    sopInstanceUid: string;
    seriesInstanceUid: string;
    modality: string | null;
    frameOfReferenceUid: string | null;
    institutionName: string | null;
    bodyPartExamined: string | null;
    viewPosition: string | null;
    laterality: string | null;
    /** Patient Orientation of the source (row\\column directions, e.g. L\\F for a PA chest), or null */
    patientOrientation: string | null;
    fileName: string;
  };
  image: {
    rows: number;
    columns: number;
    /** stored values, row-major */
    pixels: Uint16Array;
    photometric: 'MONOCHROME1' | 'MONOCHROME2';
    rescaleSlope: number;
    rescaleIntercept: number;
    pixelSpacing: [number, number] | null;
    /** the default window preset (modality units) */
    window: { name: string; center: number; width: number };
  };
  analysis: {
    analysisId: number;
    model: { name: string; version: string; sha256: string; ep: string };
    /** the TB score in force (a site head's where one is in force; the signed one for a signed case) */
    tbScore: number;
    /** the pack's own TB score (the AI's original reading) */
    baseTbScore: number;
    /** the operating threshold in force, and where it comes from ("pack default", "site calibration version N") */
    threshold: number | null;
    thresholdOrigin: string | null;
    /** the site head that produced tbScore; null: the pack's own score */
    siteHead: number | null;
    /** the triage flag (core/triage): tbScore is at or above that threshold */
    flagged: boolean;
    label: string;
    probabilities: { name: string; p: number }[];
    createdAt: string;
  } | null;
  annotations: {
    /** 0: nothing saved, the findings are the model's proposal */
    version: number;
    author: string | null;
    savedAt: string | null;
    findings: Finding[];
    versions: { version: number; author: string; savedAt: string; findingCount: number; maskCount: number }[];
  };
  masks: ExportMask[];
  /** lung outlines to draw on the key image (from the masks, else the model's outline) */
  lungOutlines: { right: [number, number][]; left: [number, number][] } | null;
  report: { sections: ReportSection[]; status: string; updatedAt: string | null } | null;
  signature: SignatureInfo;
  /** the signed case this case follows (opened for an image that arrived after it was signed), and this case's follow-ups */
  caseLinks: { followsCaseId: number | null; followUpCaseIds: number[] };
  audit: { at: string; actor: string; action: string; details: Record<string, unknown> }[];
  /** what the reader of the export should know: missing report, generated identity, missing analysis */
  notes: string[];
}
