// Size limits that keep malformed or hostile files from making the decoders allocate without bound.

/** Largest accepted Rows or Columns (any format). */
export const MAX_DIMENSION = 16384;
/** Largest accepted pixel count for PNG/JPEG (their decoders hold RGBA copies of the image). */
export const MAX_RASTER_PIXELS = 64 * 1024 * 1024;
/** Largest inflated size of a deflated DICOM data set (guards against zip bombs). */
export const MAX_INFLATED_BYTES = 1 << 30;
