// DICOM → DecodedImage. Parsing is dicom-parser's (Part 10 files, bare data sets, implicit/explicit VR little
// endian, explicit big endian, deflated); compressed frames go to the WebAssembly codecs in ./codecs. Only the
// first frame of a multi-frame image is read.
//
// Decisions (see also the header of index.ts):
// - Signed data (Pixel Representation 1) is made unsigned by adding 2^(BitsStored-1) (done as an XOR of the sign
//   bit on the masked value), and the rescale intercept is lowered by slope * 2^(BitsStored-1), so modality
//   values (stored * slope + intercept) are exactly those of the file.
// - Bits above Bits Stored are masked out; data whose High Bit is not BitsStored-1 is shifted down first.
// - Compressed unsigned data whose codestream carries more bits than Bits Stored declares is not masked (that
//   would destroy it): Bits Stored is raised to what the values need.
// - A VOI LUT Sequence item becomes a linear window over the LUT's input range (first mapped value .. + number of
//   entries), narrowed to where the LUT data actually changes (the flat runs at both ends are dropped): the
//   curve's shape (often sigmoid) is not kept, and an inverting LUT becomes a normal window. It is named by its
//   LUT Explanation. The viewer has no LUT support, so this keeps the intended range of interest.
// - A missing SOP Instance / Study / Series Instance UID is returned as '' and the caller (core/importing) makes
//   deterministic 2.25 UIDs from the file's hash.
// - A Modality LUT Sequence is not applied (Rescale Slope/Intercept are); radiographs rarely carry one.
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import type * as DicomParserNs from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { AppError } from '../errors';
import { decodeFrame, type CodecKind } from './codecs';
import { j2kImageSize, jpegFrameSize, type DeclaredSize } from './codestream';
import { checkDeclaredSize, MAX_INFLATED_BYTES } from './limits';
import { computeDefaultWindow, fullRangeWindow, statsFromHistogram } from './pixels';
import { checkScope, type ScopeEvidence } from './scope';
import { PART10_PREAMBLE, guessRawDicomSyntax } from './sniff';
import type { DecodedImage, DicomAttributes, WindowPresetDef } from './types';

const require = createRequire(import.meta.url);
const dicomParser = require('dicom-parser') as typeof DicomParserNs;
const inflateRaw = promisify(zlib.inflateRaw) as (buf: Uint8Array, options: zlib.ZlibOptions) => Promise<Buffer>;


type SyntaxKind = 'native' | 'native-encapsulated' | CodecKind | 'unsupported';

interface SyntaxInfo {
  name: string;
  kind: SyntaxKind;
  bigEndian?: boolean;
}

/** Transfer syntaxes by UID: what they are called and how their pixel data is read. */
export const TRANSFER_SYNTAXES: Record<string, SyntaxInfo> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', kind: 'native' },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', kind: 'native' },
  '1.2.840.10008.1.2.1.98': { name: 'Encapsulated Uncompressed Explicit VR Little Endian', kind: 'native-encapsulated' },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', kind: 'native' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', kind: 'native', bigEndian: true },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', kind: 'rle' },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', kind: 'jpeg' },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended (Process 2 & 4)', kind: 'jpeg' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless, Non-Hierarchical (Process 14)', kind: 'jpeg' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)', kind: 'jpeg' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', kind: 'jpegls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Lossy (Near-Lossless)', kind: 'jpegls' },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Image Compression (Lossless Only)', kind: 'jpeg2000' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000 Image Compression', kind: 'jpeg2000' },
  '1.2.840.10008.1.2.4.201': { name: 'High-Throughput JPEG 2000 (Lossless Only)', kind: 'htj2k' },
  '1.2.840.10008.1.2.4.202': { name: 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)', kind: 'htj2k' },
  '1.2.840.10008.1.2.4.203': { name: 'High-Throughput JPEG 2000', kind: 'htj2k' },
  // recognised, not decoded
  '1.2.840.10008.1.2.4.52': { name: 'JPEG Extended (Process 3 & 5) (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.53': { name: 'JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.54': { name: 'JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.55': { name: 'JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.56': { name: 'JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.58': { name: 'JPEG Lossless, Non-Hierarchical (Process 15) (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.59': { name: 'JPEG Extended, Hierarchical (Process 16 & 18) (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.92': { name: 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.93': { name: 'JPEG 2000 Part 2 Multi-component Image Compression', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.94': { name: 'JPIP Referenced', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.95': { name: 'JPIP Referenced Deflate', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.100': { name: 'MPEG2', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.100.1': { name: 'Fragmentable MPEG2 Main Profile / Main Level', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.101': { name: 'MPEG2 Main Profile / High Level', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.101.1': { name: 'Fragmentable MPEG2 Main Profile / High Level', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.102': { name: 'MPEG-4 AVC/H.264 High Profile / Level 4.1', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.102.1': { name: 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.103': { name: 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.103.1': { name: 'Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.104': { name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.104.1': { name: 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.105': { name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.105.1': { name: 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.106': { name: 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.106.1': { name: 'Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.107': { name: 'HEVC/H.265 Main Profile / Level 5.1', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.108': { name: 'HEVC/H.265 Main 10 Profile / Level 5.1', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.110': { name: 'JPEG XL Lossless', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.111': { name: 'JPEG XL JPEG Recompression', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.112': { name: 'JPEG XL', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.204': { name: 'JPIP HTJ2K Referenced', kind: 'unsupported' },
  '1.2.840.10008.1.2.4.205': { name: 'JPIP HTJ2K Referenced Deflate', kind: 'unsupported' },
  '1.2.840.10008.1.2.6.1': { name: 'RFC 2557 MIME encapsulation (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.6.2': { name: 'XML Encoding (retired)', kind: 'unsupported' },
  '1.2.840.10008.1.2.7.1': { name: 'SMPTE ST 2110-20 Uncompressed Progressive Active Video', kind: 'unsupported' },
  '1.2.840.10008.1.2.7.2': { name: 'SMPTE ST 2110-20 Uncompressed Interlaced Active Video', kind: 'unsupported' },
  '1.2.840.10008.1.2.7.3': { name: 'SMPTE ST 2110-30 PCM Digital Audio', kind: 'unsupported' },
  '1.2.840.10008.1.2.8.1': { name: 'Deflated Image Frame Compression', kind: 'unsupported' },
};

/** Common SOP classes by UID, for messages. */
const SOP_CLASS_NAMES: Record<string, string> = {
  '1.2.840.10008.1.3.10': 'Media Storage Directory (DICOMDIR)',
  '1.2.840.10008.5.1.4.1.1.1': 'Computed Radiography Image',
  '1.2.840.10008.5.1.4.1.1.1.1': 'Digital X-Ray Image (For Presentation)',
  '1.2.840.10008.5.1.4.1.1.1.1.1': 'Digital X-Ray Image (For Processing)',
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image',
  '1.2.840.10008.5.1.4.1.1.11.1': 'Grayscale Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.66': 'Raw Data',
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.88.34': 'Comprehensive 3D SR',
  '1.2.840.10008.5.1.4.1.1.88.50': 'Mammography CAD SR',
  '1.2.840.10008.5.1.4.1.1.88.59': 'Key Object Selection Document',
  '1.2.840.10008.5.1.4.1.1.88.65': 'Chest CAD SR',
  '1.2.840.10008.5.1.4.1.1.88.67': 'X-Ray Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT Structure Set',
  '1.2.840.10008.5.1.4.1.1.481.5': 'RT Plan',
};

export function transferSyntaxLabel(uid: string): string {
  const info = TRANSFER_SYNTAXES[uid];
  return info ? `${info.name} (${uid})` : `an unknown transfer syntax (${uid})`;
}

function sopClassLabel(uid: string | null): string {
  if (!uid) return 'DICOM object of unknown SOP class';
  const name = SOP_CLASS_NAMES[uid];
  return name ? `${name} (${uid})` : `SOP class ${uid}`;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

function errorText(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object' && 'exception' in e) return errorText((e as { exception: unknown }).exception);
  return String(e);
}

const TRUNCATION = /past end|overread|overrun|end of buffer|premature|not found|missing end|unexpected end/i;

const DEFLATED = '1.2.840.10008.1.2.1.99';

/**
 * A Part 10 file whose transfer syntax is deflated, inflated off the main thread (zlib on libuv's thread pool) and cut
 * off at MAX_INFLATED_BYTES: the whole file as dicom-parser expects it after inflation. Null for every other file
 * (and for a file whose header cannot be read: parse() says why).
 */
async function inflateDeflated(bytes: Uint8Array, name: string): Promise<Uint8Array | null> {
  let meta: DataSet & { position?: number };
  try {
    meta = dicomParser.readPart10Header(bytes) as DataSet & { position?: number };
  } catch {
    return null;
  }
  const uid = (meta.string?.('x00020010') ?? '').replace(/\0/g, '').trim();
  const position = meta.position;
  if (uid !== DEFLATED || position === undefined || position > bytes.length) return null;
  let inflated: Buffer;
  try {
    inflated = await inflateRaw(bytes.subarray(position), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError(
        'FILE_TOO_LARGE',
        `${name}: the deflated DICOM data set inflates to more than ${Math.round(MAX_INFLATED_BYTES / 2 ** 20)} MB, more than any accepted image needs (a decompression bomb?); it was refused.`,
        { cause: e },
      );
    }
    throw new AppError('DICOM_CORRUPT', `${name}: the deflated DICOM data set cannot be inflated (${(e as Error).message}).`, { cause: e });
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(bytes.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

function parse(bytes: Uint8Array, name: string, rawSyntax: string | null, inflated: Uint8Array | null): DataSet {
  const inflater = (): Uint8Array => {
    // inflateDeflated() did the work before parsing; a deflated syntax it did not see is a header it could not read
    if (!inflated) throw new AppError('DICOM_CORRUPT', `${name}: the deflated DICOM data set has no readable file meta information.`);
    return inflated;
  };
  try {
    const options: DicomParserNs.ParseDicomOptions & { inflater: typeof inflater } = { inflater };
    if (rawSyntax) options.TransferSyntaxUID = rawSyntax;
    return dicomParser.parseDicom(bytes, options);
  } catch (e) {
    const inner = e && typeof e === 'object' && 'exception' in e ? (e as { exception: unknown }).exception : e;
    if (inner instanceof AppError) throw inner;
    const msg = errorText(e);
    if (/0002,0010/.test(msg)) {
      throw new AppError('DICOM_CORRUPT', `${name}: the DICOM file meta information has no Transfer Syntax UID (0002,0010).`, { cause: e });
    }
    if (TRUNCATION.test(msg)) {
      throw new AppError('DICOM_TRUNCATED', `${name}: the DICOM file is truncated: its ${bytes.length} bytes end inside the data set (${msg}).`, { cause: e });
    }
    throw new AppError('DICOM_CORRUPT', `${name}: the DICOM data set is corrupt and cannot be parsed (${msg}).`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Attribute access

const CHARSETS: Record<string, string> = {
  'ISO_IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 166': 'windows-874',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/**
 * A text decoder for a data set's Specific Character Set (0008,0005) value: single-byte and UTF-8 character sets;
 * ISO 2022 code extensions are read as their base (ASCII) set; unknown or absent: Latin-1 (the DICOM default's
 * superset).
 */
export function dicomTextDecoder(specificCharacterSet: string | undefined | null): TextDecoder {
  const names = (specificCharacterSet ?? '').split('\\').map((s) => s.trim()).filter(Boolean);
  const label = names.map((c) => CHARSETS[c.replace(/^ISO 2022 /, 'ISO_')]).find(Boolean) ?? 'latin1';
  try {
    return new TextDecoder(label);
  } catch {
    return new TextDecoder('latin1');
  }
}

class Reader {
  private decoder: TextDecoder;
  constructor(readonly ds: DataSet) {
    this.decoder = dicomTextDecoder(ds.string('x00080005'));
  }

  /** A text value (all values joined by '\'), decoded in the data set's character set; null if absent/empty. */
  text(tag: string, ds: DataSet = this.ds): string | null {
    const el = ds.elements[tag];
    if (!el || !el.length || el.length < 0) return null;
    const end = Math.min(el.dataOffset + el.length, ds.byteArray.length);
    if (el.dataOffset >= end) return null;
    const s = this.decoder.decode(ds.byteArray.subarray(el.dataOffset, end)).replace(/[\0\s]+$/, '').replace(/^\s+/, '');
    return s || null;
  }

  values(tag: string, ds: DataSet = this.ds): string[] {
    const t = this.text(tag, ds);
    return t ? t.split('\\').map((v) => v.trim()) : [];
  }

  numbers(tag: string, ds: DataSet = this.ds): number[] {
    return this.values(tag, ds).map((v) => (v === '' ? NaN : Number(v)));
  }

  number(tag: string, ds: DataSet = this.ds): number | null {
    const n = this.numbers(tag, ds)[0];
    return n === undefined || !Number.isFinite(n) ? null : n;
  }

  /** A US value (binary), null if absent. */
  us(tag: string, index = 0, ds: DataSet = this.ds): number | null {
    const el = ds.elements[tag];
    if (!el || el.length < 2 * (index + 1) || el.dataOffset + 2 * (index + 1) > ds.byteArray.length) return null;
    const v = ds.uint16(tag, index);
    return v === undefined ? null : v;
  }

  items(tag: string, ds: DataSet = this.ds): DataSet[] {
    const el = ds.elements[tag];
    return (el?.items ?? []).map((it) => it.dataSet).filter((d): d is DataSet => !!d);
  }

  /** Code Meaning (0008,0104) of each item of a code sequence. */
  codeMeanings(tag: string, ds: DataSet = this.ds): string[] {
    return this.items(tag, ds)
      .map((item) => this.text('x00080104', item))
      .filter((v): v is string => !!v);
  }
}

function readAttributes(r: Reader): DicomAttributes {
  const t = (tag: string) => r.text(tag);
  const seriesNumber = r.number('x00200011');
  return {
    // Missing UIDs are '' and made by the caller from the file hash (see core/importing uidFromHash).
    sopInstanceUid: t('x00080018') ?? t('x00020003') ?? '',
    sopClassUid: t('x00080016') ?? t('x00020002'),
    studyInstanceUid: t('x0020000d') ?? '',
    seriesInstanceUid: t('x0020000e') ?? '',
    patientName: t('x00100010') ?? '',
    patientId: t('x00100020') ?? '',
    patientBirthDate: t('x00100030'),
    patientSex: t('x00100040'),
    studyDate: t('x00080020'),
    studyTime: t('x00080030'),
    accessionNumber: t('x00080050'),
    studyDescription: t('x00081030'),
    seriesDescription: t('x0008103e'),
    seriesNumber: seriesNumber === null ? null : Math.trunc(seriesNumber),
    modality: t('x00080060'),
    bodyPartExamined: t('x00180015'),
    viewPosition: t('x00185101'),
    institutionName: t('x00080080'),
  };
}

function scopeEvidence(r: Reader, a: DicomAttributes): ScopeEvidence {
  const labelled = (pairs: Array<[string, string | null]>) =>
    pairs.filter((p): p is [string, string] => !!p[1]).map(([label, value]) => ({ label, value }));
  const performed = r.codeMeanings('x00400260').map((v): [string, string] => ['Performed Protocol', v]);
  const viewDescriptions = labelled([
    ['Acquisition Device Processing Description', r.text('x00181400')],
    ['Protocol Name', r.text('x00181030')],
    ['Series Description', a.seriesDescription],
    ['Performed Procedure Step Description', r.text('x00400254')],
    ...performed,
  ]);
  const contextDescriptions = [
    ...viewDescriptions,
    ...labelled([
      ['Study Description', a.studyDescription],
      ['Requested Procedure Description', r.text('x00321060')],
      ['Institution Name', a.institutionName],
      ['Institutional Department Name', r.text('x00081040')],
      ['Body Part Examined', a.bodyPartExamined],
    ]),
  ];
  return {
    modality: a.modality,
    sopClassUid: a.sopClassUid,
    viewPosition: a.viewPosition,
    bodyPart: a.bodyPartExamined,
    species: [...r.values('x00102201'), ...r.codeMeanings('x00102202')],
    breeds: [...r.values('x00102292'), ...r.codeMeanings('x00102293')],
    viewCodes: r.codeMeanings('x00540220'),
    viewDescriptions,
    contextDescriptions,
  };
}

function pixelSpacing(r: Reader): [number, number] | null {
  for (const tag of ['x00280030', 'x00181164']) {
    const v = r.numbers(tag);
    if (v.length >= 2 && v[0] > 0 && v[1] > 0 && Number.isFinite(v[0]) && Number.isFinite(v[1])) return [v[0], v[1]];
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Pixel data

interface PixelModule {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  frames: number;
}

function readPixelModule(r: Reader, name: string): PixelModule {
  const samples = r.us('x00280002') ?? 1;
  const photometricText = (r.text('x00280004') ?? 'MONOCHROME2').toUpperCase().replace(/\s+/g, '');
  if (samples !== 1 || (photometricText !== 'MONOCHROME1' && photometricText !== 'MONOCHROME2')) {
    const what = samples !== 1 ? `a colour image (${photometricText}, ${samples} samples per pixel)` : `a ${photometricText} image`;
    throw new AppError('DICOM_UNSUPPORTED_IMAGE', `${name}: ${what}; only grayscale (MONOCHROME1/MONOCHROME2) radiographs are read.`);
  }
  const rows = r.us('x00280010');
  const columns = r.us('x00280011');
  if (!rows || !columns) {
    throw new AppError('DICOM_CORRUPT', `${name}: the image has no valid Rows/Columns (${rows ?? 'missing'} x ${columns ?? 'missing'}).`);
  }
  const bitsAllocated = r.us('x00280100') ?? 16;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new AppError('DICOM_UNSUPPORTED_IMAGE', `${name}: Bits Allocated ${bitsAllocated} is not supported (8 or 16 only).`);
  }
  let bitsStored = r.us('x00280101') ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) bitsStored = bitsAllocated;
  let highBit = r.us('x00280102') ?? bitsStored - 1;
  if (highBit < bitsStored - 1 || highBit >= bitsAllocated) highBit = bitsStored - 1;
  const pixelRepresentation = r.us('x00280103') === 1 ? 1 : 0;
  const framesValue = r.number('x00280008');
  const frames = framesValue && framesValue > 0 ? Math.trunc(framesValue) : 1;
  return { rows, columns, bitsAllocated, bitsStored, highBit, pixelRepresentation, photometric: photometricText as PixelModule['photometric'], frames };
}

function checkDimensions(pm: PixelModule, name: string): void {
  checkDeclaredSize(pm.columns, pm.rows, name, 'DICOM header (Columns x Rows)');
}

/**
 * The size the compressed frame's own header declares (what its codec would allocate), checked against the limits
 * and against the DICOM header's Rows and Columns, before the frame is decoded. RLE has no size of its own: its
 * decoder fills exactly Rows x Columns.
 */
function checkFrameHeader(kind: CodecKind, syntaxName: string, frame: Uint8Array, pm: PixelModule, name: string): void {
  if (kind === 'rle') return;
  const declared: DeclaredSize | null = kind === 'jpeg' || kind === 'jpegls' ? jpegFrameSize(frame) : j2kImageSize(frame);
  const what = kind === 'jpeg2000' || kind === 'htj2k' ? 'JPEG 2000 image header (SIZ)' : 'JPEG frame header (SOF)';
  if (!declared) throw new AppError('DICOM_DECODE_FAILED', `${name}: the ${syntaxName} pixel data cannot be decoded (its frame has no readable ${what}).`);
  checkDeclaredSize(declared.width, declared.height, name, `compressed frame's ${what}`);
  if (declared.width !== pm.columns || declared.height !== pm.rows) {
    throw new AppError(
      'DICOM_DECODE_FAILED',
      `${name}: the ${syntaxName} pixel data cannot be decoded: its ${what} declares ${declared.width} x ${declared.height} pixels, but the DICOM header says ${pm.columns} x ${pm.rows} (refused before decoding).`,
    );
  }
}

const FRAME_START = (b: Uint8Array, at: number) =>
  (b[at] === 0xff && (b[at + 1] === 0xd8 || b[at + 1] === 0x4f)) || // JPEG / JPEG-LS SOI, J2K SOC
  (b[at] === 0x00 && b[at + 1] === 0x00 && b[at + 2] === 0x00 && b[at + 3] === 0x0c && b[at + 4] === 0x6a); // JP2 box

/** The compressed bytes of the first frame. */
function firstFrameBytes(ds: DataSet, el: Element, frames: number, name: string): Uint8Array {
  const fragments = el.fragments ?? [];
  if (!el.encapsulatedPixelData || fragments.length === 0) {
    throw new AppError('DICOM_CORRUPT', `${name}: the transfer syntax says the pixel data is compressed, but Pixel Data holds no compressed fragments.`);
  }
  try {
    if (frames <= 1 || fragments.length === 1) {
      return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
    }
    if (el.basicOffsetTable && el.basicOffsetTable.length > 0) {
      return dicomParser.readEncapsulatedImageFrame(ds, el, 0);
    }
    if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, 1);
    // No offset table and several fragments per frame: the frame ends where the next codestream starts.
    let end = 1;
    while (end < fragments.length && !FRAME_START(ds.byteArray, fragments[end].position)) end++;
    return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, end);
  } catch (e) {
    throw new AppError('DICOM_CORRUPT', `${name}: the compressed frame cannot be located in Pixel Data (${errorText(e)}).`, { cause: e });
  }
}

interface Normalised {
  pixels: Uint16Array;
  histogram: Uint32Array;
  bitsStored: number;
  /** native little-endian 16-bit data: where the stored values start in the parsed bytes */
  rawOffset?: number;
}

/**
 * Stored values -> unsigned 16-bit with one pass: shift down to the High Bit, mask to Bits Stored, flip the
 * sign bit of signed data (two's complement + 2^(n-1) is the same as XOR of bit n-1), and fill the histogram.
 * 16-bit values that need none of that (unsigned, High Bit = Bits Stored - 1, nothing set above Bits Stored: what
 * almost every radiograph holds) are not copied: `pixels` is then `src` itself, a view of the file's bytes.
 */
function normalise(
  src: Uint8Array | Uint16Array,
  n: number,
  shift: number,
  bitsStored: number,
  signed: boolean,
): Normalised {
  const mask = bitsStored >= 16 ? 0xffff : (1 << bitsStored) - 1;
  const flip = signed ? 1 << (bitsStored - 1) : 0;
  if (src instanceof Uint16Array && shift === 0 && flip === 0) {
    const histogram = histogramIfWithin(src, n, mask);
    if (histogram) return { pixels: src.subarray(0, n), histogram, bitsStored };
  }
  const out = new Uint16Array(n);
  const histogram = new Uint32Array(65536);
  if (shift === 0 && flip === 0) {
    for (let i = 0; i < n; i++) {
      const v = src[i] & mask;
      out[i] = v;
      histogram[v]++;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = ((src[i] >>> shift) & mask) ^ flip;
      out[i] = v;
      histogram[v]++;
    }
  }
  return { pixels: out, histogram, bitsStored };
}

/**
 * The histogram of `src`'s first `n` values, or null if any of them has a bit set outside `mask`. Two interleaved
 * tables, summed at the end: neighbouring pixels of a radiograph are often equal, and one table would make each
 * increment wait for the previous one to the same slot.
 */
function histogramIfWithin(src: Uint16Array, n: number, mask: number): Uint32Array | null {
  const h = new Uint32Array(2 * 65536);
  let bits = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const a = src[i];
    const b = src[i + 1];
    bits |= a | b;
    h[a]++;
    h[65536 + b]++;
  }
  if (i < n) {
    bits |= src[i];
    h[src[i]]++;
  }
  if ((bits & ~mask) !== 0) return null;
  const histogram = h.subarray(0, 65536);
  for (let v = 0; v <= mask; v++) histogram[v] += h[65536 + v];
  return histogram;
}

/** Same as normalise() for 16-bit big-endian bytes. */
function normaliseBigEndian(bytes: Uint8Array, offset: number, n: number, shift: number, bitsStored: number, signed: boolean): Normalised {
  const mask = bitsStored >= 16 ? 0xffff : (1 << bitsStored) - 1;
  const flip = signed ? 1 << (bitsStored - 1) : 0;
  const out = new Uint16Array(n);
  const histogram = new Uint32Array(65536);
  for (let i = 0, p = offset; i < n; i++, p += 2) {
    const v = ((((bytes[p] << 8) | bytes[p + 1]) >>> shift) & mask) ^ flip;
    out[i] = v;
    histogram[v]++;
  }
  return { pixels: out, histogram, bitsStored };
}

/** A Uint16Array over little-endian bytes: a view when aligned, else one copy. */
function uint16View(bytes: Uint8Array, offset: number, n: number): Uint16Array {
  const start = bytes.byteOffset + offset;
  if (start % 2 === 0) return new Uint16Array(bytes.buffer, start, n);
  return new Uint16Array(bytes.slice(offset, offset + 2 * n).buffer);
}

function bitsFor(v: number): number {
  let b = 1;
  while (b < 16 && v >= 1 << b) b++;
  return b;
}

async function readPixels(ds: DataSet, syntax: SyntaxInfo, uid: string, pm: PixelModule, name: string): Promise<Normalised> {
  const el = ds.elements.x7fe00010;
  const n = pm.rows * pm.columns;
  const signed = pm.pixelRepresentation === 1;
  if (syntax.kind === 'native') {
    if (el.encapsulatedPixelData || el.hadUndefinedLength) {
      throw new AppError('DICOM_CORRUPT', `${name}: Pixel Data is encapsulated (compressed fragments) but the transfer syntax ${transferSyntaxLabel(uid)} is uncompressed.`);
    }
    const bytesPerSample = pm.bitsAllocated / 8;
    const needed = n * bytesPerSample;
    const available = Math.max(0, Math.min(el.length, ds.byteArray.length - el.dataOffset));
    if (available < needed) {
      throw new AppError(
        'DICOM_TRUNCATED',
        `${name}: Pixel Data holds ${available} bytes but ${pm.columns} x ${pm.rows} pixels of ${pm.bitsAllocated} bits need ${needed}; the file is truncated or its image size is wrong.`,
      );
    }
    checkDimensions(pm, name);
    const shift = pm.highBit + 1 - pm.bitsStored;
    if (bytesPerSample === 1) {
      return normalise(ds.byteArray.subarray(el.dataOffset, el.dataOffset + n), n, shift, pm.bitsStored, signed);
    }
    if (syntax.bigEndian) return normaliseBigEndian(ds.byteArray, el.dataOffset, n, shift, pm.bitsStored, signed);
    return { ...normalise(uint16View(ds.byteArray, el.dataOffset, n), n, shift, pm.bitsStored, signed), rawOffset: el.dataOffset };
  }

  checkDimensions(pm, name);
  const frame = firstFrameBytes(ds, el, pm.frames, name);
  if (syntax.kind === 'native-encapsulated') {
    const needed = n * (pm.bitsAllocated / 8);
    if (frame.length < needed) {
      throw new AppError('DICOM_TRUNCATED', `${name}: the encapsulated frame holds ${frame.length} bytes but ${pm.columns} x ${pm.rows} x ${pm.bitsAllocated}-bit needs ${needed}.`);
    }
    const shift = pm.highBit + 1 - pm.bitsStored;
    return pm.bitsAllocated === 8
      ? normalise(frame, n, shift, pm.bitsStored, signed)
      : normalise(uint16View(frame, 0, n), n, shift, pm.bitsStored, signed);
  }

  checkFrameHeader(syntax.kind as CodecKind, syntax.name, frame, pm, name);
  let decoded: Uint8Array;
  try {
    decoded = await decodeFrame(syntax.kind as CodecKind, frame, {
      rows: pm.rows,
      columns: pm.columns,
      bitsAllocated: pm.bitsAllocated,
      bitsStored: pm.bitsStored,
      pixelRepresentation: pm.pixelRepresentation,
      photometric: pm.photometric,
    });
  } catch (e) {
    throw new AppError('DICOM_DECODE_FAILED', `${name}: the ${syntax.name} pixel data cannot be decoded (${errorText(e).replace(/\s+$/, '')}).`, { cause: e });
  }
  // Codecs return 1 byte per sample for <= 8-bit data and 2 otherwise, whatever Bits Allocated says.
  let bytesPerSample: number;
  if (decoded.length === n) bytesPerSample = 1;
  else if (decoded.length === 2 * n) bytesPerSample = 2;
  else if (decoded.length >= 3 * n && decoded.length % n === 0) {
    throw new AppError('DICOM_UNSUPPORTED_IMAGE', `${name}: the compressed frame holds a colour image (${decoded.length / n} samples per pixel); only grayscale radiographs are read.`);
  } else {
    throw new AppError('DICOM_DECODE_FAILED', `${name}: the ${syntax.name} codec returned ${decoded.length} bytes for a ${pm.columns} x ${pm.rows} image.`);
  }
  const src = bytesPerSample === 1 ? decoded : uint16View(decoded, 0, n);
  let bitsStored = bytesPerSample === 1 ? Math.min(pm.bitsStored, 8) : pm.bitsStored;
  if (!signed) {
    // Codecs put the samples in the low bits; if the codestream carries more bits than Bits Stored says,
    // masking would destroy them, so widen Bits Stored to what the values need instead.
    let rawMax = 0;
    for (let i = 0; i < n; i++) if (src[i] > rawMax) rawMax = src[i];
    if (rawMax >= 1 << bitsStored) bitsStored = Math.max(bitsStored, bitsFor(rawMax));
  }
  return normalise(src, n, 0, bitsStored, signed);
}

// ---------------------------------------------------------------------------------------------------------
// Windows

function fileWindows(r: Reader): WindowPresetDef[] {
  const centers = r.numbers('x00281050');
  const widths = r.numbers('x00281051');
  const names = r.values('x00281055');
  const count = Math.min(centers.length, widths.length);
  const out: WindowPresetDef[] = [];
  for (let i = 0; i < count; i++) {
    const c = centers[i];
    const w = widths[i];
    if (!Number.isFinite(c) || !Number.isFinite(w) || w < 1) continue;
    out.push({ name: names[i] || (count > 1 ? `File window ${i + 1}` : 'File window'), center: c, width: w });
  }
  return out;
}

/**
 * VOI LUT Sequence items as linear windows (an approximation: see the header of this file). The LUT's first input
 * value is read as signed for signed images; its input units are modality values (after rescale).
 */
function voiLutWindows(r: Reader, signed: boolean): WindowPresetDef[] {
  const out: WindowPresetDef[] = [];
  r.items('x00283010').forEach((item, k) => {
    const d0 = r.us('x00283002', 0, item);
    const d1 = r.us('x00283002', 1, item);
    if (d0 === null || d1 === null) return;
    const entries = d0 === 0 ? 65536 : d0;
    const first = signed && d1 >= 0x8000 ? d1 - 0x10000 : d1;
    let lo = 0;
    let hi = entries - 1;
    const data = item.elements.x00283006;
    if (data && data.length >= 2 * entries && data.dataOffset + 2 * entries <= item.byteArray.length) {
      const lut = new Uint16Array(entries);
      for (let i = 0; i < entries; i++) lut[i] = item.uint16('x00283006', i) ?? 0;
      let min = 65535;
      let max = 0;
      for (let i = 0; i < entries; i++) {
        if (lut[i] < min) min = lut[i];
        if (lut[i] > max) max = lut[i];
      }
      if (max > min) {
        // narrow to where the curve moves: drop the flat runs at both ends
        let a = 0;
        while (a < entries - 1 && lut[a + 1] === lut[0]) a++;
        let b = entries - 1;
        while (b > a && lut[b - 1] === lut[entries - 1]) b--;
        lo = a;
        hi = b;
      }
    }
    const low = first + lo;
    const high = first + hi;
    out.push({
      name: r.text('x00283003', item) ?? `VOI LUT ${k + 1}`,
      center: (low + high) / 2,
      width: Math.max(1, high - low),
    });
  });
  return out;
}

function uniqueWindows(windows: WindowPresetDef[]): WindowPresetDef[] {
  const seen = new Set<string>();
  return windows.filter((w) => {
    const key = `${w.center}/${w.width}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------

export async function decodeDicom(input: Uint8Array, name: string, format: 'dicom' | 'dicom-raw'): Promise<DecodedImage> {
  let bytes = input;
  let rawSyntax: string | null = null;
  if (format === 'dicom') {
    if (!(bytes.length > PART10_PREAMBLE + 4 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d)) {
      // 'DICM' at offset 0, without the 128-byte preamble: give it one.
      bytes = new Uint8Array(PART10_PREAMBLE + input.length);
      bytes.set(input, PART10_PREAMBLE);
    }
  } else {
    rawSyntax = guessRawDicomSyntax(bytes) ?? '1.2.840.10008.1.2';
    if ((bytes[0] | (bytes[1] << 8)) === 0x0002) {
      // file meta elements without preamble and prefix: make it a Part 10 file
      bytes = new Uint8Array(PART10_PREAMBLE + 4 + input.length);
      bytes.set([0x44, 0x49, 0x43, 0x4d], PART10_PREAMBLE);
      bytes.set(input, PART10_PREAMBLE + 4);
      rawSyntax = null;
    }
  }
  const ds = parse(bytes, name, rawSyntax, rawSyntax === null ? await inflateDeflated(bytes, name) : null);
  const r = new Reader(ds);
  const uid = (ds.string('x00020010') ?? rawSyntax ?? '').replace(/\0/g, '').trim();
  const attrs = readAttributes(r);

  const pixelData = ds.elements.x7fe00010;
  if (!pixelData || (pixelData.length === 0 && !pixelData.encapsulatedPixelData)) {
    if (ds.elements.x7fe00008 || ds.elements.x7fe00009) {
      throw new AppError('DICOM_UNSUPPORTED_IMAGE', `${name}: floating-point pixel data is not supported (${sopClassLabel(attrs.sopClassUid)}).`);
    }
    const modality = attrs.modality ? `, modality ${attrs.modality}` : '';
    throw new AppError(
      'DICOM_NO_PIXEL_DATA',
      `${name}: a ${sopClassLabel(attrs.sopClassUid)}${modality} with no pixel data; there is no image to read.`,
    );
  }

  const verdict = checkScope(scopeEvidence(r, attrs));
  if (verdict) throw new AppError('OUT_OF_SCOPE', `${name}: ${verdict.reason}.`);

  const syntax = TRANSFER_SYNTAXES[uid];
  if (!syntax || syntax.kind === 'unsupported') {
    throw new AppError('DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `${name}: ${syntax ? `${syntax.name} (${uid})` : `the unknown transfer syntax ${uid || '(none)'}`} cannot be decoded.`);
  }

  const pm = readPixelModule(r, name);
  const norm = await readPixels(ds, syntax, uid, pm, name);
  const n = norm.pixels.length;
  const stats = statsFromHistogram(norm.histogram, n);

  let slope = r.number('x00281053') ?? 1;
  if (!Number.isFinite(slope) || slope === 0) slope = 1;
  let intercept = r.number('x00281052') ?? 0;
  if (pm.pixelRepresentation === 1) intercept -= slope * 2 ** (norm.bitsStored - 1);

  const auto = computeDefaultWindow(stats, slope, intercept);
  const windows = [
    ...uniqueWindows([...fileWindows(r), ...voiLutWindows(r, pm.pixelRepresentation === 1)]),
    auto,
    fullRangeWindow(stats.min, stats.max, slope, intercept),
  ];

  return {
    format: 'dicom',
    rows: pm.rows,
    columns: pm.columns,
    bitsStored: norm.bitsStored,
    pixels: norm.pixels,
    photometric: pm.photometric,
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    pixelSpacing: pixelSpacing(r),
    minPixel: stats.min,
    maxPixel: stats.max,
    windows,
    transferSyntax: uid,
    // offsets in `bytes`, less what was put in front of the input to make it a Part 10 file
    sourcePixelOffset: norm.rawOffset === undefined ? null : norm.rawOffset - (bytes.length - input.length),
    dicom: attrs,
  };
}
