// Imaging service: chest X-ray files (DICOM, PNG, JPEG) → one grayscale frame (DecodedImage, see ./types).
//
//   decodeImage(bytes, fileName)  sniffs the format from the content (never the extension) and decodes it, or
//                                 throws an AppError whose code says why not (EMPTY_FILE, NOT_AN_IMAGE,
//                                 DICOM_TRUNCATED, DICOM_CORRUPT, DICOM_NO_PIXEL_DATA,
//                                 DICOM_UNSUPPORTED_TRANSFER_SYNTAX, DICOM_UNSUPPORTED_IMAGE, DICOM_DECODE_FAILED,
//                                 PNG_CORRUPT, JPEG_CORRUPT, FILE_TOO_LARGE, DECODE_LIMIT, OUT_OF_SCOPE).
//                                 Messages start with the file's base name. No library exception escapes unwrapped.
//   configureImaging({ wasmPath, decodeTimeoutMs }) where the codecs' WebAssembly file is (default: inside
//                                 node_modules) and how long one file's decoding may take (default 10 s).
//
// Every format's declared size (DICOM Rows/Columns, the compressed frame's own SOF or SIZ header, PNG's IHDR,
// JPEG's SOF) is checked against the limits (./limits) before anything is decoded, and inflation (deflated DICOM,
// interlaced PNG) is capped. Whatever decompresses runs off the main thread: compressed DICOM frames and PNG/JPEG
// files in decode lanes (./lane: a worker thread each, one file at a time, stopped at the time limit), deflated
// DICOM data sets on zlib's thread pool; uncompressed DICOM pixel data is read in place on the calling thread (a
// histogram pass, 10-16 ms for a 2000 x 2500 16-bit image).
//
// Window presets (modality units), in order: the file's Window Center/Width values (named by their
// explanations), its VOI LUT Sequence items (each approximated by a linear window over the LUT's input range,
// narrowed to where the LUT actually rises; named by LUT Explanation), 'Auto (1st–99th percentile)' computed
// from the histogram, and 'Full range'. The model reads the image through the first (the file's window, else Auto);
// a viewer opens it with chooseInitialWindow's choice (the file's window where it is plausible for the image's values).
//
// Missing SOP Instance / Study / Series Instance UIDs are returned as '' (core/importing generates
// deterministic 2.25 UIDs from the file's hash). Out-of-scope DICOMs (lateral/oblique views, animals,
// non-radiograph modalities) are refused with OUT_OF_SCOPE and the tags that show it.
import path from 'node:path';
import { AppError } from '../errors';
import { decodeDicom } from './dicom';
import { decodePng, decodeJpeg } from './raster';
import { FORMAT_DESCRIPTIONS, sniffFormat } from './sniff';
import type { DecodedImage } from './types';

export type { DecodedImage, DicomAttributes, WindowPresetDef } from './types';
export { sniffFormat, guessRawDicomSyntax, type FileFormat } from './sniff';
export { configureImaging, loadCodecs, resolveWasmPath, codecJobs, decodeTimeLimitMs, DEFAULT_DECODE_TIMEOUT_MS, type ImagingConfig } from './codecs';
export { rasterJobs } from './raster';
export { AUTO_WINDOW_NAME, chooseInitialWindow, computeDefaultWindow, computePixelStats, fullRangeWindow, histogramPercentile, type InitialWindow, type PixelStats } from './pixels';
export { checkScope, type ScopeEvidence, type ScopeVerdict } from './scope';
export { TRANSFER_SYNTAXES, transferSyntaxLabel, dicomTextDecoder } from './dicom';
export { MAX_DIMENSION, MAX_IMAGE_PIXELS, MAX_INFLATED_BYTES } from './limits';

/** Decode a DICOM, PNG or JPEG file's bytes into one grayscale frame. */
export async function decodeImage(bytes: Uint8Array, fileName: string): Promise<DecodedImage> {
  const name = path.basename(fileName || 'file');
  const format = sniffFormat(bytes);
  try {
    switch (format) {
      case 'empty':
        throw new AppError('EMPTY_FILE', `${name} is empty (0 bytes).`);
      case 'dicom':
      case 'dicom-raw':
        return await decodeDicom(bytes, name, format);
      case 'png':
        return await decodePng(bytes, name);
      case 'jpeg':
        return await decodeJpeg(bytes, name);
      case 'unknown':
        throw new AppError('NOT_AN_IMAGE', `${name} is not a DICOM, PNG or JPEG image (its content matches none of them).`);
      default:
        throw new AppError('NOT_AN_IMAGE', `${name} is ${FORMAT_DESCRIPTIONS[format]}, not a DICOM, PNG or JPEG image.`);
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    // Anything a library threw that the format modules did not anticipate: keep the code precise per format.
    const detail = e instanceof Error ? e.message : String(e);
    const code = format === 'png' ? 'PNG_CORRUPT' : format === 'jpeg' ? 'JPEG_CORRUPT' : 'DICOM_CORRUPT';
    throw new AppError(code, `${name}: the file could not be read as ${FORMAT_DESCRIPTIONS[format]} (${detail}).`, { cause: e });
  }
}
