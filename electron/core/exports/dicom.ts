// DICOM plumbing shared by the SR, SEG and encapsulated-PDF builders: new UIDs, the Patient / General Study /
// General Equipment attributes every derived object copies, value sanitising to each VR's rules, and writing a
// naturalized data set as a Part 10 file with dcmjs.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ExportInput } from './types';

const require = createRequire(import.meta.url);

interface Dcmjs {
  data: {
    DicomDict: new (meta: object) => { dict: object; write(options?: object): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: object): object };
  };
  log: { setLevel(level: string): void };
}
const dcmjs = require('dcmjs') as Dcmjs;
dcmjs.log.setLevel('error');

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** this application's Implementation Class UID (a fixed 2.25 UID: the first 128 bits of SHA-256('cxr-workstation')) */
export const IMPLEMENTATION_CLASS_UID = uidFromText('cxr-workstation implementation class');
export const IMPLEMENTATION_VERSION_NAME = 'CXRWS_0_1';

export const SOP_CLASS = {
  comprehensiveSr: '1.2.840.10008.5.1.4.1.1.88.33',
  segmentation: '1.2.840.10008.5.1.4.1.1.66.4',
  encapsulatedPdf: '1.2.840.10008.5.1.4.1.1.104.1',
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
} as const;

/** A new UID under the 2.25 root (ITU-T X.667): 128 random bits as a decimal integer. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString(10)}`;
}

/** A UID made from a text (the same text gives the same UID): for identities that must be stable across exports. */
export function uidFromText(text: string): string {
  const h = createHash('sha256').update(text).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${h}`).toString(10)}`;
}

export type Naturalized = Record<string, unknown>;

export interface CodeItem {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

export function code(value: string, scheme: string, meaning: string): CodeItem {
  return { CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning };
}

/** The coding scheme of this station's own codes (model labels, review states); DICOM reserves "99" prefixes for local schemes. */
export const LOCAL_SCHEME = '99CXRWS';
export const LOCAL_SCHEME_IDENTIFICATION = {
  CodingSchemeDesignator: LOCAL_SCHEME,
  CodingSchemeName: 'CXR Workstation local codes',
  CodingSchemeResponsibleOrganization: 'CXR Workstation',
};

// ---- values, sanitised to their VR so that a malformed source attribute cannot make the export invalid ----------

export function da(v: string | null | undefined): string {
  const s = (v ?? '').trim().replace(/[.\-/]/g, '');
  return /^\d{8}$/.test(s) ? s : '';
}

export function tm(v: string | null | undefined): string {
  const s = (v ?? '').trim().replace(/:/g, '');
  return /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/.test(s) ? s : '';
}

export function as(v: string | null | undefined): string {
  const s = (v ?? '').trim();
  return /^\d{3}[DWMY]$/.test(s) ? s : '';
}

export function cs(v: string | null | undefined, maxLen = 16): string {
  const s = (v ?? '').trim().toUpperCase();
  return /^[A-Z0-9 _]*$/.test(s) ? s.slice(0, maxLen) : '';
}

export function uid(v: string | null | undefined): string {
  const s = (v ?? '').trim();
  return /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(s) && s.length <= 64 ? s : '';
}

/** LO/SH/LT text: no backslash (the value separator) or control characters, cut to the VR's length. */
export function text(v: string | null | undefined, maxLen: number): string {
  return (v ?? '').replace(/[\\\u0000-\u001f]/g, ' ').trim().slice(0, maxLen);
}

export function pn(v: string | null | undefined): Array<{ Alphabetic: string }> | '' {
  const s = (v ?? '').replace(/[\\\u0000-\u001f]/g, ' ').trim().slice(0, 64);
  return s ? [{ Alphabetic: s }] : '';
}

/**
 * A person's display name as a DICOM PN (family^given): a name already in PN form is kept; otherwise the last word
 * is taken as the family name ("Jane Smith" -> Smith^Jane). For names this station holds (readers, signers).
 */
export function personName(display: string | null | undefined): Array<{ Alphabetic: string }> | '' {
  const s = (display ?? '').replace(/[\\\u0000-\u001f]/g, ' ').trim();
  if (!s || s.includes('^')) return pn(s);
  const words = s.split(/\s+/);
  return pn(words.length > 1 ? `${words[words.length - 1]}^${words.slice(0, -1).join(' ')}` : s);
}

/** DICOM DA and TM for a moment, in UTC (the station's exports state their time zone offset). */
export function dateTimeParts(iso: string): { date: string; time: string; dateTime: string } {
  const d = new Date(iso);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return { date, time, dateTime: `${date}${time}+0000` };
}

function nonAscii(value: unknown): boolean {
  if (typeof value === 'string') return /[^\x00-\x7f]/.test(value);
  if (Array.isArray(value)) return value.some(nonAscii);
  if (value && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) return Object.values(value).some(nonAscii);
  return false;
}

// ---- the modules every derived object shares ----------------------------------------------------------------

/** Patient, General Study and Patient Study attributes, copied from the source image (or made from the case). */
export function patientAndStudy(input: ExportInput): Naturalized {
  const p = input.patient;
  const s = input.study;
  const out: Naturalized = {
    PatientName: pn(p.name),
    PatientID: text(p.id, 64),
    PatientBirthDate: da(p.birthDate),
    PatientSex: ['M', 'F', 'O'].includes(cs(p.sex)) ? cs(p.sex) : '',
    StudyInstanceUID: s.studyInstanceUid,
    StudyDate: da(s.studyDate),
    StudyTime: tm(s.studyTime),
    ReferringPhysicianName: pn(s.referringPhysicianName),
    StudyID: text(s.studyId, 16),
    AccessionNumber: text(s.accessionNumber, 16),
  };
  if (p.issuerOfPatientId) out.IssuerOfPatientID = text(p.issuerOfPatientId, 64);
  if (as(p.age)) out.PatientAge = as(p.age);
  if (s.description) out.StudyDescription = text(s.description, 64);
  return out;
}

/** General Equipment plus the Enhanced General Equipment attributes (type 1 in SEG). */
export function equipment(input: ExportInput): Naturalized {
  const st = input.station;
  const out: Naturalized = {
    Manufacturer: text(st.manufacturer, 64),
    ManufacturerModelName: text(st.modelName, 64),
    DeviceSerialNumber: text(st.deviceSerialNumber, 64),
    SoftwareVersions: text(st.softwareVersion, 64),
  };
  if (input.source.institutionName) out.InstitutionName = text(input.source.institutionName, 64);
  return out;
}

/** The new object's own identity: SOP Common, with the character set its text needs and the local coding scheme. */
export function sopCommon(sopClassUid: string, sopInstanceUid: string, createdAt: string): Naturalized {
  const t = dateTimeParts(createdAt);
  return {
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: t.date,
    InstanceCreationTime: t.time,
    TimezoneOffsetFromUTC: '+0000',
  };
}

/** Serialise a naturalized data set as a DICOM Part 10 file (explicit VR little endian). */
export function writePart10(dataset: Naturalized, vrMap: Record<string, string> = {}): Uint8Array {
  const ds: Naturalized = { ...dataset };
  // dcmjs writes text as UTF-8; declare it where any value needs more than ASCII.
  if (nonAscii(ds)) ds.SpecificCharacterSet = 'ISO_IR 192';
  ds._vrMap = vrMap;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: ds.SOPClassUID,
    MediaStorageSOPInstanceUID: ds.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds);
  return new Uint8Array(dict.write({ fragmentMultiframe: false }));
}
