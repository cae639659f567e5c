// Test helpers for the imaging tests (and the timing script): where the shared sample DICOMs are, and small
// synthetic DICOM / PNG / ZIP files built in memory. Not used by the app.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { seededRandom } from '../evaluation/metrics';

const require = createRequire(import.meta.url);

interface DcmjsLike {
  data: {
    DicomDict: new (meta: object) => { dict: object; write(options?: object): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: object): object };
  };
  log: { setLevel(level: string): void };
}

const dcmjs = require('dcmjs') as DcmjsLike;
dcmjs.log.setLevel('error');

/** The repository root (this file is electron/core/imaging/testFixtures.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The shared datasets folder: $CXR_DATASETS, else ../shared/datasets next to the repository. */
export function datasetsDir(): string {
  return process.env.CXR_DATASETS ? path.resolve(process.env.CXR_DATASETS) : path.resolve(REPO_ROOT, '../shared/datasets');
}

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNear: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2k: '1.2.840.10008.1.2.4.203',
  mpeg2: '1.2.840.10008.1.2.4.100',
} as const;

export interface SynthDicom {
  transferSyntax?: string;
  rows?: number;
  columns?: number;
  bitsAllocated?: number;
  bitsStored?: number;
  highBit?: number;
  pixelRepresentation?: number;
  photometric?: string;
  samplesPerPixel?: number;
  /** native pixel data, stored words as they should appear (little-endian host order; swapped for big endian) */
  pixels?: Uint8Array | Uint16Array;
  /** encapsulated frames (for compressed transfer syntaxes) */
  frames?: Uint8Array[];
  /** extra naturalized attributes (dcmjs keywords), override the defaults; a value of undefined removes one */
  attrs?: Record<string, unknown>;
  /** leave out Pixel Data */
  noPixelData?: boolean;
}

let uidCounter = 0;

/** A Part 10 DICOM file (frontal human chest CR by default) written with dcmjs. */
export function makeDicom(o: SynthDicom): Uint8Array {
  const ts = o.transferSyntax ?? TS.explicitLE;
  const rows = o.rows ?? 4;
  const columns = o.columns ?? 4;
  const bitsAllocated = o.bitsAllocated ?? 16;
  const bitsStored = o.bitsStored ?? bitsAllocated;
  uidCounter++;
  const ds: Record<string, unknown> = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
    SOPInstanceUID: `2.25.1000${uidCounter}`,
    StudyInstanceUID: `2.25.2000${uidCounter}`,
    SeriesInstanceUID: `2.25.3000${uidCounter}`,
    PatientName: 'TEST^SYNTHETIC',
    PatientID: 'SYN1',
    StudyDate: '20260101',
    Modality: 'CR',
    BodyPartExamined: 'CHEST',
    ViewPosition: 'PA',
    Rows: rows,
    Columns: columns,
    BitsAllocated: bitsAllocated,
    BitsStored: bitsStored,
    HighBit: o.highBit ?? bitsStored - 1,
    PixelRepresentation: o.pixelRepresentation ?? 0,
    SamplesPerPixel: o.samplesPerPixel ?? 1,
    PhotometricInterpretation: o.photometric ?? 'MONOCHROME2',
  };
  for (const [k, v] of Object.entries(o.attrs ?? {})) {
    if (v === undefined) delete ds[k];
    else ds[k] = v;
  }
  if (!o.noPixelData) {
    if (o.frames) {
      ds.PixelData = o.frames.map((f) => f.slice().buffer);
      ds._vrMap = { PixelData: 'OB' };
    } else {
      const px = o.pixels ?? new Uint16Array(rows * columns);
      const bytes = new Uint8Array(px.buffer, px.byteOffset, px.byteLength).slice();
      ds.PixelData = [bytes.buffer];
      ds._vrMap = { PixelData: bitsAllocated > 8 ? 'OW' : 'OB' };
    }
  }
  const meta: Record<string, unknown> = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: (ds.SOPClassUID as string) ?? '1.2.840.10008.5.1.4.1.1.7',
    TransferSyntaxUID: ts,
    ImplementationClassUID: '2.25.123456789',
  };
  if (ds.SOPInstanceUID) meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID;
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds);
  const out = new Uint8Array(dict.write({ fragmentMultiframe: false }));
  if (ts === TS.deflated) {
    // dcmjs writes the data set uncompressed: deflate everything after the file meta group.
    const start = datasetOffset(out);
    const deflated = zlib.deflateRawSync(out.subarray(start));
    const file = new Uint8Array(start + deflated.length);
    file.set(out.subarray(0, start));
    file.set(deflated, start);
    return file;
  }
  return out;
}

/** Offset of the data set in a Part 10 file (after the preamble, 'DICM' and the group 0002 elements). */
export function datasetOffset(part10: Uint8Array): number {
  const dv = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  // (0002,0000) UL group length: tag 4 + VR 2 + length 2 + value 4 bytes
  return 132 + 12 + dv.getUint32(132 + 8, true);
}

/** The data set of a Part 10 file without its preamble and file meta (an old-style bare DICOM file). */
export function stripPart10(part10: Uint8Array): Uint8Array {
  return part10.slice(datasetOffset(part10));
}

/** 16-bit words with their bytes swapped (to build big-endian pixel data). */
export function swap16(words: Uint16Array): Uint16Array {
  const out = new Uint16Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = ((words[i] & 0xff) << 8) | (words[i] >>> 8);
  return out;
}

/** A deterministic pseudo-random generator (mulberry32): the evaluation's seeded generator. */
export const rng = seededRandom;

/** A smooth chest-like test image with noise, values in [0, 2^bits). */
export function testImage(rows: number, columns: number, bits: number, seed = 1): Uint16Array {
  const r = rng(seed);
  const max = 2 ** bits - 1;
  const px = new Uint16Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const base = 0.5 + 0.35 * Math.sin((x / columns) * Math.PI) * Math.cos((y / rows) * 1.3);
      px[y * columns + x] = Math.max(0, Math.min(max, Math.round(base * max + (r() - 0.5) * max * 0.05)));
    }
  }
  return px;
}

// --- PNG / ZIP by hand (pngjs cannot write palette images) -------------------------------------------------

function crc32(bytes: Uint8Array): number {
  return (zlib as unknown as { crc32(data: Uint8Array): number }).crc32(bytes) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An 8-bit palette PNG (colour type 3) with the given palette indices and RGB palette. */
export function makePalettePng(width: number, height: number, indices: Uint8Array, palette: Array<[number, number, number]>): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // palette
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', new Uint8Array(palette.flat())),
    chunk('IDAT', new Uint8Array(zlib.deflateSync(raw))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** A PNG header claiming the given size, with no real image data behind it. */
export function makeHugePngHeader(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 16;
  ihdr[9] = 0;
  return concat([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IEND', new Uint8Array(0))]);
}

/** A valid ZIP archive holding one stored file. */
export function makeZip(fileName: string, content: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(fileName);
  const crc = crc32(content);
  const local = new Uint8Array(30 + nameBytes.length);
  let dv = new DataView(local.buffer);
  dv.setUint32(0, 0x04034b50, true);
  dv.setUint16(4, 20, true);
  dv.setUint32(14, crc, true);
  dv.setUint32(18, content.length, true);
  dv.setUint32(22, content.length, true);
  dv.setUint16(26, nameBytes.length, true);
  local.set(nameBytes, 30);
  const central = new Uint8Array(46 + nameBytes.length);
  dv = new DataView(central.buffer);
  dv.setUint32(0, 0x02014b50, true);
  dv.setUint16(4, 20, true);
  dv.setUint16(6, 20, true);
  dv.setUint32(16, crc, true);
  dv.setUint32(20, content.length, true);
  dv.setUint32(24, content.length, true);
  dv.setUint16(28, nameBytes.length, true);
  dv.setUint32(42, 0, true);
  central.set(nameBytes, 46);
  const end = new Uint8Array(22);
  dv = new DataView(end.buffer);
  dv.setUint32(0, 0x06054b50, true);
  dv.setUint16(8, 1, true);
  dv.setUint16(10, 1, true);
  dv.setUint32(12, central.length, true);
  dv.setUint32(16, local.length + content.length, true);
  return concat([local, content, central, end]);
}

/** Write bytes to a fresh temporary file and return its path. */
export function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}
