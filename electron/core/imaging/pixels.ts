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
  return windowFromStoredRange(lo, hi, rescaleSlope, rescaleIntercept, AUTO_WINDOW_NAME);
}

export const AUTO_WINDOW_NAME = 'Auto (1st–99th percentile)';

/** The window a viewer opens an image with, which preset it is (index into the image's windows) and why. */
export interface InitialWindow {
  index: number;
  source: 'file' | 'auto';
  reason: string;
}

/** A file window must give the image's central values at least this share of the grey scale that Auto gives them. */
export const MIN_FILE_WINDOW_CONTRAST = 0.75;
/** ... and hold at least this share of those values (a window beside the image's values shows it black or white). */
export const MIN_FILE_WINDOW_COVER = 0.25;

const fmt = (v: number) => String(Math.round(v));

/**
 * The initial window, as a careful viewer chooses it: the file's own window (the first of them) when it is plausible
 * for the values the image holds, else the automatic one. `windows` is the decoder's list: the file's windows first,
 * then Auto (the 1st to 99th percentile of the image's values) and Full range. A file window is implausible when it
 * spreads the image's central values (Auto's range) over less than MIN_FILE_WINDOW_CONTRAST of the grey scale (a
 * placeholder window such as W 30000 / L 15000 on a 15-bit image: washed out), or holds less than
 * MIN_FILE_WINDOW_COVER of them (a window for other units: black or white).
 */
export function chooseInitialWindow(windows: readonly WindowPresetDef[]): InitialWindow {
  const auto = windows.findIndex((w) => w.name === AUTO_WINDOW_NAME);
  if (auto < 0) return { index: 0, source: 'file', reason: `${windows[0]?.name ?? 'The first window'} is used.` };
  if (auto === 0) return { index: 0, source: 'auto', reason: 'The file names no window: Auto (1st to 99th percentile of the image’s values) is used.' };
  const f = windows[0];
  const a = windows[auto];
  const lo = Math.max(f.center - f.width / 2, a.center - a.width / 2);
  const hi = Math.min(f.center + f.width / 2, a.center + a.width / 2);
  const overlap = Math.max(0, hi - lo);
  const contrast = overlap / Math.max(f.width, 1e-9);
  const cover = overlap / Math.max(a.width, 1e-9);
  const named = `The file’s window (${f.name}, W ${fmt(f.width)} / L ${fmt(f.center)})`;
  if (contrast >= MIN_FILE_WINDOW_CONTRAST && cover >= MIN_FILE_WINDOW_COVER) return { index: 0, source: 'file', reason: `${named} is used: it fits the image’s values.` };
  const why = cover < MIN_FILE_WINDOW_COVER
    ? `leaves ${Math.round((1 - cover) * 100)}% of the image’s values black or white`
    : `would spread the image’s values over only ${Math.round(contrast * 100)}% of the grey scale (washed out)`;
  return { index: auto, source: 'auto', reason: `${named} ${why}: Auto (1st to 99th percentile) is used instead.` };
}

/** The window spanning every stored value present in the image. */
export function fullRangeWindow(min: number, max: number, rescaleSlope = 1, rescaleIntercept = 0): WindowPresetDef {
  return windowFromStoredRange(min, max, rescaleSlope, rescaleIntercept, 'Full range');
}

function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
