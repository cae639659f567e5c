// PNG (pngjs) and JPEG (jpeg-js) files → DecodedImage. Colour is reduced to luminance (Rec. 601 weights:
// 0.299 R + 0.587 G + 0.114 B); alpha is ignored. 16-bit PNGs keep their 16 bits; everything else is 8-bit.
//
// The size each file declares (PNG's IHDR, JPEG's frame header) is checked against the limits here, before anything
// is decoded; the decoding itself (inflate, filters, IDCT, colour to luminance, histogram) runs in a decode lane
// (./lane: a worker thread, one file at a time, under the per-file time limit), so the main thread keeps answering
// the UI while a large or hostile image is read. An interlaced PNG's image data is inflated under a cap first (its
// decoder would inflate without one); the JPEG decoder's own allocations are capped by jpeg-js.
import { createRequire } from 'node:module';
import { AppError } from '../errors';
import { decodeTimeLimitMs } from './codecs';
import { jpegFrameSize } from './codestream';
import { DecodeLane, LaneError } from './lane';
import { checkDeclaredSize } from './limits';
import { computeDefaultWindow, fullRangeWindow, statsFromHistogram } from './pixels';
import type { DecodedImage } from './types';

const require = createRequire(import.meta.url);

/** What the JPEG decoder may allocate for one file (coefficients, component planes and the output), in MB. */
export const JPEG_MEMORY_MB = 512;
/** The raster decoder thread's JavaScript heap; pixel buffers are bounded by the size checks before decoding. */
const RASTER_HEAP_MB = 128;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const { PNG } = require(workerData.pngjs);
const jpeg = require(workerData.jpegjs);
const refuse = (code, message) => Object.assign(new Error(message), { code });
function luminance(data, n, stride, out, histogram) {
  for (let i = 0, p = 0; i < n; i++, p += stride) {
    const r = data[p], g = data[p + 1], b = data[p + 2];
    const v = r === g && g === b ? r : (0.299 * r + 0.587 * g + 0.114 * b + 0.5) | 0;
    out[i] = v;
    histogram[v]++;
  }
}
// Inflate an interlaced PNG's IDAT data under the cap its header allows (pngjs inflates those without one).
function checkInflatedSize(buf, limit) {
  const parts = [];
  for (let at = 8; at + 12 <= buf.length; ) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (at + 12 + len > buf.length) break;
    if (type === 'IDAT') parts.push(buf.subarray(at + 8, at + 8 + len));
    if (type === 'IEND') break;
    at += 12 + len;
  }
  try {
    zlib.inflateSync(Buffer.concat(parts), { maxOutputLength: limit });
  } catch (e) {
    if (e && e.code === 'ERR_BUFFER_TOO_LARGE') throw refuse('FILE_TOO_LARGE', 'the PNG image data inflates to more than its header allows (a decompression bomb?)');
    // anything else is for the decoder to report
  }
}
parentPort.on('message', (m) => {
  try {
    const buf = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    let width, height, data, stride, bits;
    if (m.format === 'png') {
      if (m.interlaced) checkInflatedSize(buf, m.inflateLimit);
      let png;
      try {
        png = PNG.sync.read(buf, { skipRescale: m.depth === 16 });
      } catch (e) {
        throw refuse('PNG_CORRUPT', 'the PNG file is corrupt or truncated (' + ((e && e.message) || e) + ')');
      }
      width = png.width; height = png.height; data = png.data; stride = 4; bits = m.depth === 16 ? 16 : 8;
      if (data.length < width * height * 4) throw refuse('PNG_CORRUPT', 'the PNG decoder returned an image of an unexpected size');
    } else {
      let img;
      try {
        img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: m.maxMegapixels, maxMemoryUsageInMB: m.maxMemoryMb });
      } catch (e) {
        const msg = String((e && e.message) || e);
        if (/maxResolutionInMP|maxMemoryUsageInMB|memory/i.test(msg)) throw refuse('FILE_TOO_LARGE', 'the JPEG image is too large to decode (' + msg + ')');
        throw refuse('JPEG_CORRUPT', 'the JPEG file is corrupt, truncated or of an unsupported kind (' + msg + ')');
      }
      width = img.width; height = img.height; data = img.data; stride = 3; bits = 8;
      if (!width || !height || data.length < width * height * 3) throw refuse('JPEG_CORRUPT', 'the JPEG decoder returned an empty or short image');
    }
    if (width !== m.width || height !== m.height) throw refuse(m.format === 'png' ? 'PNG_CORRUPT' : 'JPEG_CORRUPT', 'the decoded image is ' + width + ' x ' + height + ' pixels, not the ' + m.width + ' x ' + m.height + ' its header declares');
    const n = width * height;
    const pixels = new Uint16Array(n);
    const histogram = new Uint32Array(65536);
    luminance(data, n, stride, pixels, histogram);
    parentPort.postMessage({ id: m.id, width, height, bits, pixels, histogram }, [pixels.buffer, histogram.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e), code: (e && e.code) || null });
  }
});
`;

const lane = new DecodeLane({
  source: WORKER_SOURCE,
  workerData: () => ({ pngjs: require.resolve('pngjs'), jpegjs: require.resolve('jpeg-js') }),
  resourceLimits: { maxOldGenerationSizeMb: RASTER_HEAP_MB, maxYoungGenerationSizeMb: 32 },
});

/** PNG and JPEG files handed to the decoder thread since the start (a file refused from its header is not one). */
export function rasterJobs(): number {
  return lane.jobs;
}

function finish(format: 'png' | 'jpeg', width: number, height: number, bitsStored: number, pixels: Uint16Array, histogram: Uint32Array): DecodedImage {
  const stats = statsFromHistogram(histogram, pixels.length);
  return {
    format,
    rows: height,
    columns: width,
    bitsStored,
    pixels,
    photometric: 'MONOCHROME2',
    rescaleSlope: 1,
    rescaleIntercept: 0,
    pixelSpacing: null,
    minPixel: stats.min,
    maxPixel: stats.max,
    windows: [computeDefaultWindow(stats), fullRangeWindow(stats.min, stats.max)],
    transferSyntax: null,
    dicom: null,
  };
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

async function decodeInLane(format: 'png' | 'jpeg', bytes: Uint8Array, name: string, message: Record<string, unknown>): Promise<DecodedImage> {
  const copy = bytes.slice(); // its own buffer, handed to the thread
  let reply: Record<string, unknown>;
  try {
    reply = await lane.run({ format, bytes: copy, ...message }, [copy.buffer], decodeTimeLimitMs());
  } catch (e) {
    const corrupt = format === 'png' ? 'PNG_CORRUPT' : 'JPEG_CORRUPT';
    if (e instanceof LaneError) {
      const f = e.failure;
      if (f.kind === 'error') throw new AppError(f.code === 'FILE_TOO_LARGE' ? 'FILE_TOO_LARGE' : corrupt, `${name}: ${f.message}.`, { cause: e });
      throw new AppError('DECODE_LIMIT', `${name}: ${e.message}; the file is damaged or too complex to read.`, { cause: e });
    }
    throw new AppError(corrupt, `${name}: the ${format.toUpperCase()} file could not be decoded (${(e as Error)?.message ?? String(e)}).`, { cause: e });
  }
  return finish(format, reply.width as number, reply.height as number, reply.bits as number, reply.pixels as Uint16Array, reply.histogram as Uint32Array);
}

export async function decodePng(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  // IHDR is the first chunk: width, height, bit depth, colour type, interlace (read first to refuse huge images cheaply)
  if (bytes.length < 33 || String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]) !== 'IHDR') {
    throw new AppError('PNG_CORRUPT', `${name}: the PNG file is corrupt: it has no image header (IHDR).`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const depth = bytes[24];
  const colourType = bytes[25];
  if (width === 0 || height === 0) throw new AppError('PNG_CORRUPT', `${name}: the PNG header gives an empty image (${width} x ${height}).`);
  checkDeclaredSize(width, height, name, 'PNG image header');
  const channels = CHANNELS[colourType];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) throw new AppError('PNG_CORRUPT', `${name}: the PNG header has an invalid colour type ${colourType} or bit depth ${depth}.`);
  // the filtered image data: one filter byte per row; Adam7's seven passes add at most 15/8 as many rows, each
  // with its filter byte and a partial byte
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const inflateLimit = height * (1 + rowBytes) + 4 * height + 64;
  return decodeInLane('png', bytes, name, { width, height, depth, interlaced: bytes[28] === 1, inflateLimit });
}

export async function decodeJpeg(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  const declared = jpegFrameSize(bytes);
  if (!declared) throw new AppError('JPEG_CORRUPT', `${name}: the JPEG file is corrupt or truncated: it has no frame header (SOF) before its image data.`);
  if (declared.width === 0 || declared.height === 0) throw new AppError('JPEG_CORRUPT', `${name}: the JPEG frame header gives an empty image (${declared.width} x ${declared.height}).`);
  checkDeclaredSize(declared.width, declared.height, name, 'JPEG frame header');
  return decodeInLane('jpeg', bytes, name, { width: declared.width, height: declared.height, maxMegapixels: (declared.width * declared.height) / 1e6 + 1, maxMemoryMb: JPEG_MEMORY_MB });
}
