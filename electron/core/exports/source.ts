// The identifying attributes of the stored original DICOM file, read with dicom-parser (the pixel data is not
// touched), for the derived objects to copy: patient, study, the source image's series, SOP and frame of reference.
import { createRequire } from 'node:module';
import type * as DicomParserNs from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { AppError } from '../errors';
import { guessRawDicomSyntax, PART10_PREAMBLE } from '../imaging/sniff';
import { dicomTextDecoder } from '../imaging/index';

const require = createRequire(import.meta.url);
const dicomParser = require('dicom-parser') as typeof DicomParserNs;

export interface SourceDicomAttributes {
  patientName: string | null;
  patientId: string | null;
  issuerOfPatientId: string | null;
  patientBirthDate: string | null;
  patientSex: string | null;
  patientAge: string | null;
  studyInstanceUid: string | null;
  studyDate: string | null;
  studyTime: string | null;
  accessionNumber: string | null;
  studyId: string | null;
  studyDescription: string | null;
  referringPhysicianName: string | null;
  sopClassUid: string | null;
  sopInstanceUid: string | null;
  seriesInstanceUid: string | null;
  modality: string | null;
  frameOfReferenceUid: string | null;
  institutionName: string | null;
  bodyPartExamined: string | null;
  viewPosition: string | null;
  laterality: string | null;
  patientOrientation: string | null;
}

function decoderFor(ds: DataSet): TextDecoder {
  return dicomTextDecoder(ds.string('x00080005'));
}

/** Parse the identifying attributes, stopping before the pixel data (they all come before it). */
export function readSourceAttributes(bytes: Uint8Array, name: string): SourceDicomAttributes {
  const part10 = bytes.length >= PART10_PREAMBLE + 4 && String.fromCharCode(...bytes.subarray(PART10_PREAMBLE, PART10_PREAMBLE + 4)) === 'DICM';
  const options: DicomParserNs.ParseDicomOptions = { untilTag: 'x7fe00010' };
  if (!part10) {
    const syntax = guessRawDicomSyntax(bytes);
    if (!syntax) throw new AppError('DICOM_CORRUPT', `The stored original of ${name} is not a DICOM file; its identity cannot be copied.`);
    options.TransferSyntaxUID = syntax;
  }
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes, options);
  } catch (e) {
    const msg = e instanceof Error ? e.message : typeof e === 'string' ? e : String((e as { exception?: unknown })?.exception ?? e);
    throw new AppError('DICOM_CORRUPT', `The stored original of ${name} cannot be parsed (${msg}); its identity cannot be copied.`, { cause: e });
  }
  const decoder = decoderFor(ds);
  const t = (tag: string): string | null => {
    const el = ds.elements[tag];
    if (!el || !el.length || el.length < 0) return null;
    const end = Math.min(el.dataOffset + el.length, ds.byteArray.length);
    if (el.dataOffset >= end) return null;
    const s = decoder.decode(ds.byteArray.subarray(el.dataOffset, end)).replace(/[\0\s]+$/, '').replace(/^\s+/, '');
    return s || null;
  };
  return {
    patientName: t('x00100010'),
    patientId: t('x00100020'),
    issuerOfPatientId: t('x00100021'),
    patientBirthDate: t('x00100030'),
    patientSex: t('x00100040'),
    patientAge: t('x00101010'),
    studyInstanceUid: t('x0020000d'),
    studyDate: t('x00080020'),
    studyTime: t('x00080030'),
    accessionNumber: t('x00080050'),
    studyId: t('x00200010'),
    studyDescription: t('x00081030'),
    referringPhysicianName: t('x00080090'),
    sopClassUid: t('x00080016') ?? t('x00020002'),
    sopInstanceUid: t('x00080018') ?? t('x00020003'),
    seriesInstanceUid: t('x0020000e'),
    modality: t('x00080060'),
    frameOfReferenceUid: t('x00200052'),
    institutionName: t('x00080080'),
    bodyPartExamined: t('x00180015'),
    viewPosition: t('x00185101'),
    laterality: t('x00200062') ?? t('x00200060'),
    patientOrientation: t('x00200020'),
  };
}
