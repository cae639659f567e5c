// Size limits that keep malformed or hostile files from making the decoders allocate without bound. Every format is
// checked against them from its header, before anything is decoded or inflated.
import { AppError } from '../errors';

/**
 * Largest accepted Rows or Columns (any format). Chest radiographs are at most about 4300 pixels a side (a 43 cm
 * detector at 100 µm); a long side up to 8192 leaves room for stitched or high-resolution images.
 */
export const MAX_DIMENSION = 8192;
/**
 * Largest accepted pixel count (any format): 25 megapixels, e.g. 5000 x 5000, against 18.5 for the largest chest
 * detectors. Decoding costs a few times this in memory (a PNG decoder holds 16-bit RGBA: 200 MB at the limit).
 */
export const MAX_IMAGE_PIXELS = 25_000_000;
/**
 * Largest inflated size of a deflated DICOM data set: the largest accepted image at 16 bits plus room for the
 * attributes around it. A deflate stream can expand a thousand times, so it is cut off at this size.
 */
export const MAX_INFLATED_BYTES = 2 * MAX_IMAGE_PIXELS + 32 * 1024 * 1024;

/** FILE_TOO_LARGE unless `width` x `height` (as a header declares it) is within the limits. */
export function checkDeclaredSize(width: number, height: number, name: string, what: string): void {
  if (width > MAX_DIMENSION || height > MAX_DIMENSION || width * height > MAX_IMAGE_PIXELS) {
    throw new AppError(
      'FILE_TOO_LARGE',
      `${name}: the ${what} declares ${width} x ${height} pixels, more than the ${MAX_DIMENSION} pixels a side and ${MAX_IMAGE_PIXELS / 1e6} megapixels a chest radiograph may have; it was refused before decoding.`,
    );
  }
}
