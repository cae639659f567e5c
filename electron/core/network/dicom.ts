// DICOM file plumbing for the network service: wrapping a data set received over DIMSE in a Part 10 file (so that
// it goes through the same import path as a file from disk), and reading the identity of a Part 10 file.
import { createRequire } from 'node:module';
import { AppError } from '../errors';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../exports/dicom';

const require = createRequire(import.meta.url);
interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: object): { meta: object; dict: object } };
  DicomMetaDictionary: { naturalizeDataset(dict: object): Record<string, unknown> };
}
const dcmjs = require('dcmjs') as { data: DcmjsData; log: { setLevel(l: string): void } };
dcmjs.log.setLevel('error');

export const SOP_CLASSES = {
  comprehensiveSr: '1.2.840.10008.5.1.4.1.1.88.33',
  basicTextSr: '1.2.840.10008.5.1.4.1.1.88.11',
  enhancedSr: '1.2.840.10008.5.1.4.1.1.88.22',
  segmentation: '1.2.840.10008.5.1.4.1.1.66.4',
  encapsulatedPdf: '1.2.840.10008.5.1.4.1.1.104.1',
} as const;

/** The image storage SOP classes the receiver takes: the projection radiography family a chest X-ray comes in. */
export const IMAGE_STORAGE_CLASSES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.1': 'Computed Radiography Image Storage',
  '1.2.840.10008.5.1.4.1.1.1.1': 'Digital X-Ray Image Storage - For Presentation',
  '1.2.840.10008.5.1.4.1.1.1.1.1': 'Digital X-Ray Image Storage - For Processing',
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.2': 'Multi-frame Grayscale Byte Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.3': 'Multi-frame Grayscale Word Secondary Capture Image Storage',
};

/** Results a station sends and reads back (SR, SEG, encapsulated PDF): which kind a SOP class is. */
export function resultKind(sopClassUid: string | null | undefined, modality?: string | null): 'sr' | 'seg' | 'pdf' | 'image' | 'other' {
  if (sopClassUid?.startsWith('1.2.840.10008.5.1.4.1.1.88.') || modality === 'SR') return 'sr';
  if (sopClassUid === SOP_CLASSES.segmentation || modality === 'SEG') return 'seg';
  if (sopClassUid === SOP_CLASSES.encapsulatedPdf || modality === 'DOC') return 'pdf';
  if (sopClassUid && IMAGE_STORAGE_CLASSES[sopClassUid]) return 'image';
  return 'other';
}

function element(tag: number, vr: string, value: Uint8Array): Uint8Array {
  const group = tag >>> 16;
  const elem = tag & 0xffff;
  const long = vr === 'OB' || vr === 'UN' || vr === 'SQ' || vr === 'UT';
  const head = new Uint8Array(long ? 12 : 8);
  const v = new DataView(head.buffer);
  v.setUint16(0, group, true);
  v.setUint16(2, elem, true);
  head[4] = vr.charCodeAt(0);
  head[5] = vr.charCodeAt(1);
  if (long) v.setUint32(8, value.byteLength, true);
  else v.setUint16(6, value.byteLength, true);
  const out = new Uint8Array(head.byteLength + value.byteLength);
  out.set(head);
  out.set(value, head.byteLength);
  return out;
}

function padded(text: string, pad: number): Uint8Array {
  const b = new TextEncoder().encode(text);
  if (b.byteLength % 2 === 0) return b;
  const out = new Uint8Array(b.byteLength + 1);
  out.set(b);
  out[b.byteLength] = pad;
  return out;
}

/**
 * A Part 10 file from a data set as it came over the wire (encoded in `transferSyntaxUid`): preamble, 'DICM', the
 * File Meta Information (naming the sender's AE title as Source Application Entity Title), then the bytes as they
 * are. No re-encoding: the pixel data stays exactly as the sender compressed it.
 */
export function part10FromDataset(
  dataset: Uint8Array | readonly Uint8Array[],
  ids: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; sourceAeTitle?: string | null },
  options: { shared?: boolean } = {},
): Uint8Array {
  const parts = [
    element(0x00020001, 'OB', new Uint8Array([0, 1])),
    element(0x00020002, 'UI', padded(ids.sopClassUid, 0)),
    element(0x00020003, 'UI', padded(ids.sopInstanceUid, 0)),
    element(0x00020010, 'UI', padded(ids.transferSyntaxUid, 0)),
    element(0x00020012, 'UI', padded(IMPLEMENTATION_CLASS_UID, 0)),
    element(0x00020013, 'SH', padded(IMPLEMENTATION_VERSION_NAME, 0x20)),
  ];
  if (ids.sourceAeTitle) parts.push(element(0x00020016, 'AE', padded(ids.sourceAeTitle, 0x20)));
  const groupLength = parts.reduce((n, p) => n + p.byteLength, 0);
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, groupLength, true);
  const all = [new Uint8Array(128), new TextEncoder().encode('DICM'), element(0x00020000, 'UL', gl), ...parts, ...(dataset instanceof Uint8Array ? [dataset] : dataset)];
  const size = all.reduce((n, p) => n + p.byteLength, 0);
  // shared: the store's blob writer thread then reads the file in place instead of a copy of it
  const out = options.shared ? new Uint8Array(new SharedArrayBuffer(size)) : new Uint8Array(size);
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export interface InstanceIdentity {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string | null;
  transferSyntaxUid: string;
}

/** The UIDs of a Part 10 file (read up to the pixel data only). */
export function readIdentity(bytes: Uint8Array): InstanceIdentity {
  let parsed: { meta: object; dict: object };
  try {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    parsed = dcmjs.data.DicomMessage.readFile(ab, { untilTag: '7FE00010', includeUntilTagValue: false, ignoreErrors: true });
  } catch (e) {
    throw new AppError('DICOM_CORRUPT', `Not a readable DICOM Part 10 file: ${(e as Error).message}`, { cause: e });
  }
  const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.meta);
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict);
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
  const sopClassUid = str(ds.SOPClassUID) ?? str(meta.MediaStorageSOPClassUID);
  const sopInstanceUid = str(ds.SOPInstanceUID) ?? str(meta.MediaStorageSOPInstanceUID);
  const studyInstanceUid = str(ds.StudyInstanceUID);
  const seriesInstanceUid = str(ds.SeriesInstanceUID);
  if (!sopClassUid || !sopInstanceUid || !studyInstanceUid || !seriesInstanceUid) {
    throw new AppError('DICOM_CORRUPT', 'The DICOM file lacks its SOP Class, SOP Instance, Study or Series Instance UID.');
  }
  return { sopClassUid, sopInstanceUid, studyInstanceUid, seriesInstanceUid, modality: str(ds.Modality), transferSyntaxUid: str(meta.TransferSyntaxUID) ?? '1.2.840.10008.1.2.1' };
}

/** YYYY-MM-DD or YYYYMMDD as DICOM's YYYYMMDD; throws on anything else. */
export function dicomDate(s: string, what: string): string {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s.trim());
  if (!m) throw new AppError('BAD_REQUEST', `${what} must be a date like 2026-11-28 (got "${s}").`);
  return `${m[1]}${m[2]}${m[3]}`;
}

/** A DICOM date range for a query: "from-to", "from-", "-to", or null when neither is given. */
export function dateRange(from?: string, to?: string): string | null {
  const f = from ? dicomDate(from, 'The first date') : '';
  const t = to ? dicomDate(to, 'The last date') : '';
  if (!f && !t) return null;
  if (f && t && f > t) throw new AppError('BAD_REQUEST', `The first date (${from}) is after the last (${to}).`);
  return f === t ? f : `${f}-${t}`;
}
