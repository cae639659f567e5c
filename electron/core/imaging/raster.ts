// PNG (pngjs) and JPEG (jpeg-js) files → DecodedImage. Colour is reduced to luminance (Rec. 601 weights:
// 0.299 R + 0.587 G + 0.114 B); alpha is ignored. 16-bit PNGs keep their 16 bits; everything else is 8-bit.
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import type * as JpegJsNs from 'jpeg-js';
import { AppError } from '../errors';
import { MAX_DIMENSION, MAX_RASTER_PIXELS } from './limits';
import { computeDefaultWindow, fullRangeWindow, statsFromHistogram } from './pixels';
import type { DecodedImage } from './types';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;
const jpeg = require('jpeg-js') as typeof JpegJsNs;

function checkSize(width: number, height: number, name: string, what: string): void {
  if (width > MAX_DIMENSION || height > MAX_DIMENSION || width * height > MAX_RASTER_PIXELS) {
    throw new AppError('FILE_TOO_LARGE', `${name}: the ${what} is ${width} x ${height} pixels, larger than the ${MAX_DIMENSION} x ${MAX_DIMENSION} (${MAX_RASTER_PIXELS / 2 ** 20} megapixel) limit.`);
  }
}

/** Luminance of interleaved samples (stride 3 or 4); where the channels are equal this is exactly the gray value. */
function luminance(data: ArrayLike<number>, n: number, stride: number, out: Uint16Array, histogram: Uint32Array): void {
  for (let i = 0, p = 0; i < n; i++, p += stride) {
    const r = data[p];
    const g = data[p + 1];
    const b = data[p + 2];
    const v = r === g && g === b ? r : (0.299 * r + 0.587 * g + 0.114 * b + 0.5) | 0;
    out[i] = v;
    histogram[v]++;
  }
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

export function decodePng(bytes: Uint8Array, name: string): DecodedImage {
  // IHDR is the first chunk: width, height, bit depth, colour type (read first to refuse huge images cheaply)
  if (bytes.length < 33 || String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]) !== 'IHDR') {
    throw new AppError('PNG_CORRUPT', `${name}: the PNG file is corrupt: it has no image header (IHDR).`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const depth = bytes[24];
  if (width === 0 || height === 0) throw new AppError('PNG_CORRUPT', `${name}: the PNG header gives an empty image (${width} x ${height}).`);
  checkSize(width, height, name, 'PNG image');
  let png: PngjsNs.PNGWithMetadata;
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    png = PNG.sync.read(buf, { skipRescale: depth === 16 });
  } catch (e) {
    throw new AppError('PNG_CORRUPT', `${name}: the PNG file is corrupt or truncated (${(e as Error)?.message ?? String(e)}).`, { cause: e });
  }
  const n = width * height;
  const data = png.data as unknown as ArrayLike<number>;
  if (png.width !== width || png.height !== height || data.length < n * 4) {
    throw new AppError('PNG_CORRUPT', `${name}: the PNG decoder returned an image of an unexpected size.`);
  }
  const pixels = new Uint16Array(n);
  const histogram = new Uint32Array(65536);
  luminance(data, n, 4, pixels, histogram);
  return finish('png', width, height, depth === 16 ? 16 : 8, pixels, histogram);
}

export function decodeJpeg(bytes: Uint8Array, name: string): DecodedImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: MAX_RASTER_PIXELS / 1e6,
      maxMemoryUsageInMB: 1024,
    });
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    if (/maxResolutionInMP|maxMemoryUsageInMB|memory/i.test(msg)) {
      throw new AppError('FILE_TOO_LARGE', `${name}: the JPEG image is too large to decode (${msg}).`, { cause: e });
    }
    throw new AppError('JPEG_CORRUPT', `${name}: the JPEG file is corrupt, truncated or of an unsupported kind (${msg}).`, { cause: e });
  }
  const { width, height, data } = img;
  checkSize(width, height, name, 'JPEG image');
  const n = width * height;
  if (!n || data.length < n * 3) throw new AppError('JPEG_CORRUPT', `${name}: the JPEG decoder returned an empty or short image.`);
  const pixels = new Uint16Array(n);
  const histogram = new Uint32Array(65536);
  luminance(data, n, 3, pixels, histogram);
  return finish('jpeg', width, height, 8, pixels, histogram);
}
