// Small files that declare huge images or inflate to huge data sets, as an attacker (or a broken device) would send
// them: the inputs of the size-limit tests. Each is a few kilobytes to a few hundred; decoded without the limits
// they would cost gigabytes of memory and tens of seconds.
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import type * as JpegJsNs from 'jpeg-js';
import { datasetOffset, makeDicom, TS } from '../core/imaging/testFixtures';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;
const jpegjs = require('jpeg-js') as typeof JpegJsNs;

/** A raw deflate stream that inflates `head` followed by `zeros` zero bytes, in about zeros / 1000 bytes. */
export function deflateBomb(head: Uint8Array, zeros: number): Buffer {
  const MB = 1 << 20;
  const parts: Buffer[] = [zlib.deflateRawSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH })];
  // Independently compressed runs of zeros, each ending on a byte boundary (sync flush): concatenated, they
  // inflate to their sum (a run refers only to the zeros inside it).
  const run = zlib.deflateRawSync(Buffer.alloc(MB), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  for (let left = zeros; left > 0; left -= MB) parts.push(left >= MB ? run : zlib.deflateRawSync(Buffer.alloc(left), { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  parts.push(zlib.deflateRawSync(Buffer.alloc(0))); // a final empty block
  return Buffer.concat(parts);
}

/**
 * A deflated-syntax DICOM whose data set (a frontal chest CR of 16384 x 16384 16-bit pixels, all zero) inflates to
 * 512 MB from about half a megabyte.
 */
export function deflatedDicomBomb(side = 16384): Uint8Array {
  const shell = makeDicom({ transferSyntax: TS.deflated, rows: side, columns: side, bitsStored: 12, noPixelData: true });
  const start = datasetOffset(shell);
  const attributes = zlib.inflateRawSync(shell.subarray(start));
  const pixelBytes = side * side * 2;
  const header = Buffer.alloc(12);
  header.writeUInt16LE(0x7fe0, 0);
  header.writeUInt16LE(0x0010, 2);
  header.write('OW', 4, 'latin1');
  header.writeUInt32LE(pixelBytes, 8);
  const bomb = deflateBomb(Buffer.concat([attributes, header]), pixelBytes);
  const out = new Uint8Array(start + bomb.length);
  out.set(shell.subarray(0, start));
  out.set(bomb, start);
  return out;
}

/** A small real JPEG (grey gradient) whose frame header (SOF0) is rewritten to claim `width` x `height`. */
export function jpegClaiming(width: number, height: number): Uint8Array {
  const w = 64;
  const data = Buffer.alloc(w * w * 4);
  for (let i = 0; i < w * w; i++) data.fill((i % w) * 4, i * 4, i * 4 + 3), (data[i * 4 + 3] = 255);
  const jpg = new Uint8Array(jpegjs.encode({ width: w, height: w, data }, 80).data);
  const sof = jpg.findIndex((v, i) => v === 0xff && jpg[i + 1] === 0xc0);
  jpg[sof + 5] = height >> 8;
  jpg[sof + 6] = height & 0xff;
  jpg[sof + 7] = width >> 8;
  jpg[sof + 8] = width & 0xff;
  return jpg;
}

/** A JPEG 2000 codestream start (SOC, SIZ for one 16-bit grey component of `width` x `height`), then `junk` bytes. */
export function j2kClaiming(width: number, height: number, junk = 4096): Uint8Array {
  const siz = Buffer.alloc(4 + 2 + 38 + 3);
  let at = 0;
  siz.writeUInt16BE(0xff4f, at); // SOC
  siz.writeUInt16BE(0xff51, (at += 2)); // SIZ
  siz.writeUInt16BE(41, (at += 2)); // Lsiz: 38 + 3 per component
  siz.writeUInt16BE(0, (at += 2)); // Rsiz
  siz.writeUInt32BE(width, (at += 2));
  siz.writeUInt32BE(height, (at += 4));
  siz.writeUInt32BE(0, (at += 4));
  siz.writeUInt32BE(0, (at += 4));
  siz.writeUInt32BE(width, (at += 4)); // one tile
  siz.writeUInt32BE(height, (at += 4));
  siz.writeUInt32BE(0, (at += 4));
  siz.writeUInt32BE(0, (at += 4));
  siz.writeUInt16BE(1, (at += 4)); // Csiz
  siz[(at += 2)] = 15; // Ssiz: 16 bits, unsigned
  siz[at + 1] = 1;
  siz[at + 2] = 1;
  return Buffer.concat([siz, Buffer.alloc(junk, 0x5a)]);
}

/** A DICOM (frontal chest CR) around one compressed frame, with the given Rows and Columns. */
export function compressedDicom(transferSyntax: string, frame: Uint8Array, rows: number, columns: number, bitsStored = 8): Uint8Array {
  return makeDicom({ transferSyntax, rows, columns, bitsAllocated: bitsStored > 8 ? 16 : 8, bitsStored, frames: [frame] });
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A grey 8-bit PNG of `width` x `height` whose image data inflates to `inflated` bytes of zeros (the picture needs
 * height * (width + 1)); `interlaced` marks it Adam7, which its decoder inflates without a cap.
 */
export function pngBomb(width: number, height: number, inflated: number, interlaced: boolean): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  ihdr[12] = interlaced ? 1 : 0;
  const body = deflateBomb(new Uint8Array(0), inflated);
  const idat = Buffer.concat([Buffer.from([0x78, 0x9c]), body, Buffer.alloc(4)]); // zlib header; the checksum is never reached
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]);
}

/** A blank (uniform) grey PNG of the given size, as a scanner's empty frame would be. */
export function blankPng(width: number, height: number, value = 0): Uint8Array {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  png.data.fill(value);
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}
