// Recognise a file's format from its first bytes (never from its name).

export type FileFormat =
  /** Part 10 file: 128-byte preamble + 'DICM' (or 'DICM' at offset 0, a preamble-less variant) */
  | 'dicom'
  /** a bare DICOM data set without the Part 10 header (old NEMA / ACR-NEMA style files) */
  | 'dicom-raw'
  | 'png'
  | 'jpeg'
  // recognised, but not images we read
  | 'empty'
  | 'zip'
  | 'gzip'
  | 'pdf'
  | 'gif'
  | 'bmp'
  | 'tiff'
  | 'webp'
  | 'jpeg2000'
  | 'text'
  | 'unknown';

/** What a human should read for the not-an-image formats. */
export const FORMAT_DESCRIPTIONS: Record<FileFormat, string> = {
  dicom: 'a DICOM file',
  'dicom-raw': 'a DICOM data set without a Part 10 header',
  png: 'a PNG image',
  jpeg: 'a JPEG image',
  empty: 'an empty file',
  zip: 'a ZIP archive (unpack it and import the files inside)',
  gzip: 'a gzip-compressed file (unpack it first)',
  pdf: 'a PDF document',
  gif: 'a GIF image (only DICOM, PNG and JPEG are read)',
  bmp: 'a BMP image (only DICOM, PNG and JPEG are read)',
  tiff: 'a TIFF image (only DICOM, PNG and JPEG are read)',
  webp: 'a WebP image (only DICOM, PNG and JPEG are read)',
  jpeg2000: 'a stand-alone JPEG 2000 image (only DICOM, PNG and JPEG are read)',
  text: 'a text file',
  unknown: 'not a DICOM, PNG or JPEG file',
};

export const PART10_PREAMBLE = 128;

const EXPLICIT_VRS = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW',
  'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]);

function startsWith(bytes: Uint8Array, sig: number[], at = 0): boolean {
  if (bytes.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[at + i] !== sig[i]) return false;
  return true;
}

function isDicm(bytes: Uint8Array, at: number): boolean {
  return startsWith(bytes, [0x44, 0x49, 0x43, 0x4d], at);
}

export function sniffFormat(bytes: Uint8Array): FileFormat {
  if (bytes.length === 0) return 'empty';
  if (bytes.length >= PART10_PREAMBLE + 4 && isDicm(bytes, PART10_PREAMBLE)) return 'dicom';
  if (isDicm(bytes, 0) && bytes.length > 8) return 'dicom';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]) || startsWith(bytes, [0x50, 0x4b, 0x07, 0x08])) return 'zip';
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) return 'pdf';
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (startsWith(bytes, [0x42, 0x4d]) && bytes.length > 26 && readLE32(bytes, 2) === bytes.length) return 'bmp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  if (startsWith(bytes, [0xff, 0x4f, 0xff, 0x51]) || startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return 'jpeg2000';
  if (guessRawDicomSyntax(bytes)) return 'dicom-raw';
  if (looksLikeText(bytes)) return 'text';
  return 'unknown';
}

/**
 * For a data set without a Part 10 header, the transfer syntax its first element suggests, or null when the
 * bytes do not start like DICOM. Plausible starts are group 0008 (identifying) or 0002 (meta elements without a
 * preamble), optionally preceded by group-length elements. Implicit VR little endian is the default for such
 * files; explicit VR is recognised by a valid VR after the tag; big endian by a byte-swapped group.
 */
export function guessRawDicomSyntax(bytes: Uint8Array): '1.2.840.10008.1.2' | '1.2.840.10008.1.2.1' | '1.2.840.10008.1.2.2' | null {
  if (bytes.length < 16) return null;
  const groupLE = bytes[0] | (bytes[1] << 8);
  const elemLE = bytes[2] | (bytes[3] << 8);
  const groupBE = (bytes[0] << 8) | bytes[1];
  const vr = String.fromCharCode(bytes[4], bytes[5]);
  const explicit = EXPLICIT_VRS.has(vr);
  if (groupLE === 0x0008 || groupLE === 0x0002) {
    if (explicit) return '1.2.840.10008.1.2.1';
    // implicit: 32-bit length that fits the file, and a group-length element holds exactly 4 bytes
    const len = readLE32(bytes, 4);
    if (elemLE === 0x0000 && len !== 4) return null;
    if (len === 0xffffffff || len <= bytes.length - 8) return '1.2.840.10008.1.2';
    return null;
  }
  if (groupBE === 0x0008 && explicit) return '1.2.840.10008.1.2.2';
  return null;
}

function readLE32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 4096);
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0) return false;
    if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128) printable++;
  }
  return printable / n > 0.95;
}
