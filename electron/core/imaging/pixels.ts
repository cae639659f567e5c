// Pixel statistics and window presets. Everything here works on the unsigned 16-bit stored values of a
// DecodedImage; windows are expressed in modality units (stored * slope + intercept).
import type { WindowPresetDef } from './types';

export interface PixelStats {
  min: number;
  max: number;
  /** 65536 bins, one per stored value */
  histogram: Uint32Array;
  count: number;
}

/** Min, max and a full 16-bit histogram in one pass (no sort, no closures). */
export function computePixelStats(pixels: Uint16Array): PixelStats {
  const histogram = new Uint32Array(65536);
  const n = pixels.length;
  for (let i = 0; i < n; i++) histogram[pixels[i]]++;
  return statsFromHistogram(histogram, n);
}

/** Min and max from a filled histogram (scans the 65536 bins from both ends). */
export function statsFromHistogram(histogram: Uint32Array, count: number): PixelStats {
  let min = 0;
  let max = 0;
  if (count > 0) {
    while (histogram[min] === 0) min++;
    max = histogram.length - 1;
    while (histogram[max] === 0) max--;
  }
  return { min, max, histogram, count };
}

/** Stored value at a given fraction (0..1) of the pixels, from the histogram (the nearest-rank percentile). */
export function histogramPercentile(histogram: Uint32Array, count: number, fraction: number): number {
  if (count <= 0) return 0;
  const rank = Math.min(count, Math.max(1, Math.ceil(fraction * count)));
  let acc = 0;
  for (let v = 0; v < histogram.length; v++) {
    acc += histogram[v];
    if (acc >= rank) return v;
  }
  return histogram.length - 1;
}

/** A window covering stored values lo..hi, converted to modality units (handles negative slopes). */
export function windowFromStoredRange(lo: number, hi: number, slope: number, intercept: number, name: string): WindowPresetDef {
  const a = lo * slope + intercept;
  const b = hi * slope + intercept;
  const low = Math.min(a, b);
  const high = Math.max(a, b);
  // Plain centre/width (low = centre - width/2, high = centre + width/2); a flat image gets width 1.
  const width = high > low ? high - low : 1;
  return { name, center: roundTo((low + high) / 2, 6), width: roundTo(width, 6) };
}

/**
 * The default window when a file carries none: the 1st to 99th percentile of the modality values (from the
 * histogram), so a few very dark or bright pixels (collimator edges, labels, burnt-in markers) do not flatten it.
 */
export function computeDefaultWindow(
  stats: Pick<PixelStats, 'histogram' | 'count'>,
  rescaleSlope = 1,
  rescaleIntercept = 0,
  lowerFraction = 0.01,
  upperFraction = 0.99,
): WindowPresetDef {
  const lo = histogramPercentile(stats.histogram, stats.count, lowerFraction);
  const hi = histogramPercentile(stats.histogram, stats.count, upperFraction);
  return windowFromStoredRange(lo, hi, rescaleSlope, rescaleIntercept, 'Auto (1st–99th percentile)');
}

/** The window spanning every stored value present in the image. */
export function fullRangeWindow(min: number, max: number, rescaleSlope = 1, rescaleIntercept = 0): WindowPresetDef {
  return windowFromStoredRange(min, max, rescaleSlope, rescaleIntercept, 'Full range');
}

function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
