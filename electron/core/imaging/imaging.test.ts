// Imaging service tests: the shared sample DICOMs (checked against GDCM's decoder), synthetic DICOM/PNG/JPEG
// files built here, and every kind of bad input. Run: node --import tsx --test electron/core/imaging/imaging.test.ts
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import type * as JpegJsNs from 'jpeg-js';
import { AppError } from '../errors';
import {
  chooseInitialWindow,
  computeDefaultWindow,
  computePixelStats,
  configureImaging,
  DEFAULT_DECODE_TIMEOUT_MS,
  decodeImage,
  loadCodecs,
  resolveWasmPath,
  sniffFormat,
  type DecodedImage,
} from './index';
import {
  TS,
  datasetsDir,
  makeDicom,
  makeHugePngHeader,
  makePalettePng,
  makeZip,
  rng,
  stripPart10,
  swap16,
  testImage,
} from './testFixtures';
import { missingToolReason } from '../../testing/tools';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;
const jpegjs = require('jpeg-js') as typeof JpegJsNs;

const SAMPLES = path.join(datasetsDir(), 'dicom_samples');
const HAVE_SAMPLES = fs.existsSync(path.join(SAMPLES, 'manifest.jsonl'));
const HAVE_GDCM = (() => {
  try {
    execFileSync('gdcmraw', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-imaging-test-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, `expected an AppError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.equal(e.code, code, `code of "${e.message}"`);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}, but it decoded`);
}

/** GDCM's decoded pixel data of a file, or null (with the reason logged) when gdcmraw cannot give it. */
function gdcmPixels(file: string, bitsAllocated: number): Uint16Array | Uint8Array | null {
  if (!HAVE_GDCM) return null;
  const out = path.join(tmp, `${path.basename(file)}.${Math.random().toString(36).slice(2)}.raw`);
  try {
    execFileSync('gdcmraw', ['-i', file, '-o', out, '-P'], { stdio: 'pipe', timeout: 20000 });
  } catch (e) {
    console.log(`# gdcmraw could not decode ${path.basename(file)}: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
  const b = fs.readFileSync(out);
  fs.rmSync(out, { force: true });
  return bitsAllocated > 8 ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1) : new Uint8Array(b);
}

/**
 * Compare our stored values with GDCM's (masked to Bits Stored) at 1000 positions and over the whole image;
 * returns the largest absolute difference.
 */
function compareWithGdcm(img: DecodedImage, ref: Uint16Array | Uint8Array, tolerance: number, label: string): number {
  const n = img.rows * img.columns;
  assert.ok(ref.length >= n, `${label}: gdcm gave ${ref.length} samples for ${n} pixels`);
  const mask = img.bitsStored >= 16 ? 0xffff : (1 << img.bitsStored) - 1;
  let maxDiff = 0;
  let sumOurs = 0;
  let sumRef = 0;
  for (let i = 0; i < n; i++) {
    sumOurs += img.pixels[i];
    sumRef += ref[i] & mask;
    const d = Math.abs(img.pixels[i] - (ref[i] & mask));
    if (d > maxDiff) maxDiff = d;
  }
  const r = rng(42);
  for (let k = 0; k < 1000; k++) {
    const i = Math.floor(r() * n);
    assert.ok(Math.abs(img.pixels[i] - (ref[i] & mask)) <= tolerance, `${label}: pixel ${i} is ${img.pixels[i]}, gdcm ${ref[i] & mask}`);
  }
  if (tolerance === 0) assert.equal(sumOurs, sumRef, `${label}: sum of all pixels`);
  else assert.ok(Math.abs(sumOurs - sumRef) / n <= tolerance, `${label}: mean differs by ${(sumOurs - sumRef) / n}`);
  assert.ok(maxDiff <= tolerance, `${label}: max difference ${maxDiff} > ${tolerance}`);
  return maxDiff;
}

// ---------------------------------------------------------------------------------------------------------
describe('shared sample DICOMs', { skip: HAVE_SAMPLES ? false : `no samples at ${SAMPLES} (set CXR_DATASETS)` }, () => {
  const manifest = HAVE_SAMPLES
    ? fs
        .readFileSync(path.join(SAMPLES, 'manifest.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { file: string; rows: number; columns: number; bits_stored: number; photometric: string; transfer_syntax: string | null; note: string; view: string | null })
    : [];

  test('every sample in the folder is listed in the manifest', () => {
    const files = fs.readdirSync(SAMPLES).filter((f) => f.endsWith('.dcm')).sort();
    assert.deepEqual(files, manifest.map((m) => m.file).sort());
  });

  // Lossy decoders may round differently; these are the largest differences allowed against GDCM.
  const TOLERANCE: Record<string, number> = {
    '1.2.840.10008.1.2.4.50': 2,
    '1.2.840.10008.1.2.4.91': 2,
  };

  for (const m of manifest) {
    const ood = /OOD|veterinary/i.test(m.file);
    test(`${m.file}: ${ood ? 'refused as out of scope' : `${m.columns}x${m.rows}, ${m.bits_stored} bit, ${m.photometric}, pixels match GDCM`}`, async (t) => {
      const file = path.join(SAMPLES, m.file);
      const bytes = new Uint8Array(fs.readFileSync(file));
      if (ood) {
        const e = await rejectsWith(decodeImage(bytes, file), 'OUT_OF_SCOPE', /lateral veterinary \(canine\) thorax radiograph; the workstation reads frontal human chest X-rays only/);
        assert.ok(e.message.startsWith(`${m.file}: `), e.message);
        return;
      }
      const img = await decodeImage(bytes, file);
      assert.equal(img.format, 'dicom');
      assert.equal(img.rows, m.rows);
      assert.equal(img.columns, m.columns);
      assert.equal(img.bitsStored, m.bits_stored);
      assert.equal(img.photometric, m.photometric);
      assert.equal(img.transferSyntax, m.transfer_syntax ?? '1.2.840.10008.1.2');
      assert.equal(img.pixels.length, m.rows * m.columns);
      assert.equal(img.dicom?.modality, 'CR');
      assert.equal(img.dicom?.bodyPartExamined, 'CHEST');
      assert.equal(img.dicom?.viewPosition, 'PA');
      assert.ok(img.dicom?.sopInstanceUid && img.dicom.studyInstanceUid);
      assert.ok(img.minPixel <= img.maxPixel && img.maxPixel < 2 ** img.bitsStored);
      assert.ok(img.windows.length >= 2 && img.windows.every((w) => w.width > 0));
      assert.equal(img.windows.at(-1)?.name, 'Full range');

      const ref = gdcmPixels(file, m.bits_stored > 8 ? 16 : 8);
      if (!ref) {
        // decoded and checked above; only the comparison with the independent decoder is left out, and said so
        if (!HAVE_GDCM) t.skip(missingToolReason(['gdcmraw'], 'gdcmraw (the comparison with an independent decoder)'));
        else assert.fail(`gdcmraw could not decode ${m.file}`);
        return;
      }
      const tol = TOLERANCE[m.transfer_syntax ?? ''] ?? 0;
      const maxDiff = compareWithGdcm(img, ref, tol, m.file);
      console.log(`# ${m.file}: max |ours - gdcm| = ${maxDiff} (tolerance ${tol})`);
    });
  }

  test('sample details: windows, spacing, no-Part-10 header, zero pixel spacing ignored', async () => {
    const raw = await decodeImage(new Uint8Array(fs.readFileSync(path.join(SAMPLES, 'nema_cr_mono1_10_chest_no_part10_header.dcm'))), 'x.dcm');
    assert.deepEqual(raw.windows[0], { name: 'File window', center: 550, width: 1024 });
    assert.equal(raw.pixelSpacing, null);
    const j2k = await decodeImage(new Uint8Array(fs.readFileSync(path.join(SAMPLES, 'nema_wg04_rg1_cr_chest_pa_j2k_lossy.dcm'))), 'x.dcm');
    assert.equal(j2k.pixelSpacing, null, "'0.000\\0.000' is ignored");
    assert.deepEqual(j2k.windows[0], { name: 'File window', center: 15000, width: 30000 });
    assert.equal(j2k.dicom?.patientName, 'CompressedSamples^RG1');
    const jpg = await decodeImage(new Uint8Array(fs.readFileSync(path.join(SAMPLES, 'siim_cr_chest_pa_jpegbaseline.dcm'))), 'x.dcm');
    assert.deepEqual(jpg.pixelSpacing, [0.168, 0.168]);
    assert.equal(jpg.windows[0].name, 'Auto (1st–99th percentile)');
    // the initial window: the file's where it fits the image's values, else Auto, saying why
    assert.deepEqual(chooseInitialWindow(raw.windows), { index: 0, source: 'file', reason: 'The file’s window (File window, W 1024 / L 550) is used: it fits the image’s values.' });
    const j2kInitial = chooseInitialWindow(j2k.windows);
    assert.equal(j2kInitial.source, 'auto');
    assert.equal(j2k.windows[j2kInitial.index].name, 'Auto (1st–99th percentile)');
    assert.match(j2kInitial.reason, /W 30000 \/ L 15000\) would spread the image’s values over only 69% of the grey scale \(washed out\)/);
    assert.deepEqual(chooseInitialWindow(jpg.windows), { index: 0, source: 'auto', reason: 'The file names no window: Auto (1st to 99th percentile of the image’s values) is used.' });
    const mono1 = await decodeImage(new Uint8Array(fs.readFileSync(path.join(SAMPLES, 'siim_cr_chest_pa_jpegbaseline_MONOCHROME1_edited.dcm'))), 'x.dcm');
    assert.equal(mono1.photometric, 'MONOCHROME1');
    assert.deepEqual(mono1.pixels, jpg.pixels, 'only the photometric tag differs');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('synthetic DICOM', () => {
  test('signed 16-bit with rescale: modality values are preserved', async () => {
    const values = [-32768, -1024, -1, 0, 1, 1000, 32767, -500, 12, -12, 300, 0];
    const px = new Int16Array(values);
    const file = makeDicom({ rows: 3, columns: 4, pixelRepresentation: 1, pixels: new Uint16Array(px.buffer), attrs: { RescaleSlope: 2, RescaleIntercept: -100 } });
    const img = await decodeImage(file, 'signed.dcm');
    assert.equal(img.bitsStored, 16);
    assert.equal(img.rescaleSlope, 2);
    assert.equal(img.rescaleIntercept, -100 - 2 * 32768);
    for (let i = 0; i < values.length; i++) assert.equal(img.pixels[i] * img.rescaleSlope + img.rescaleIntercept, values[i] * 2 - 100);
    assert.equal(img.minPixel, 0);
    assert.equal(img.maxPixel, 65535);
  });

  test('12 bits stored in 16 with garbage in the high bits are masked', async () => {
    const clean = testImage(8, 8, 12, 3);
    const r = rng(7);
    const dirty = clean.map((v) => v | (Math.floor(r() * 16) << 12));
    const img = await decodeImage(makeDicom({ rows: 8, columns: 8, bitsStored: 12, pixels: dirty }), 'garbage.dcm');
    assert.equal(img.bitsStored, 12);
    assert.deepEqual(img.pixels, clean);
    assert.ok(img.maxPixel <= 4095);
  });

  test('clean 12 bits stored in 16 are read in place (a view of the file, not a copy), with the same histogram', async () => {
    // an odd number of pixels (the histogram runs two at a time) and values at both ends of the range
    const clean = testImage(7, 9, 12, 5);
    clean[0] = 0;
    clean[62] = 4095;
    const file = makeDicom({ rows: 7, columns: 9, bitsStored: 12, pixels: clean });
    const img = await decodeImage(file, 'clean.dcm');
    assert.equal(img.pixels.buffer, file.buffer, 'the pixels are a view of the input');
    assert.equal(img.sourcePixelOffset, img.pixels.byteOffset - file.byteOffset);
    assert.deepEqual(img.pixels, clean);
    assert.equal(img.minPixel, 0);
    assert.equal(img.maxPixel, 4095);
    // the same values with one garbage bit set go the copying way; their window statistics must be the same
    const dirty = clean.slice();
    dirty[31] |= 0x8000;
    const masked = await decodeImage(makeDicom({ rows: 7, columns: 9, bitsStored: 12, pixels: dirty }), 'dirty.dcm');
    assert.notEqual(masked.pixels.buffer, file.buffer);
    assert.deepEqual(masked.pixels, clean);
    assert.deepEqual(masked.windows, img.windows);
    assert.deepEqual([masked.minPixel, masked.maxPixel], [img.minPixel, img.maxPixel]);
  });

  test('12-bit signed with garbage high bits is sign-extended from the High Bit', async () => {
    const values = [-2048, -5, -1, 0, 1, 2047];
    const words = new Uint16Array(values.map((v, i) => (v & 0xfff) | ((i * 5 + 3) << 12)));
    const img = await decodeImage(
      makeDicom({ rows: 2, columns: 3, bitsStored: 12, pixelRepresentation: 1, pixels: words, attrs: { RescaleSlope: 1, RescaleIntercept: -1000 } }),
      's12.dcm',
    );
    assert.equal(img.rescaleIntercept, -1000 - 2048);
    assert.deepEqual(Array.from(img.pixels, (p) => p + img.rescaleIntercept), values.map((v) => v - 1000));
  });

  test('High Bit above Bits Stored - 1 (data in the upper bits) is shifted down', async () => {
    const clean = new Uint16Array([0, 1, 2, 4095, 100, 2000]);
    const img = await decodeImage(makeDicom({ rows: 2, columns: 3, bitsStored: 12, highBit: 15, pixels: clean.map((v) => (v << 4) | 0xf) }), 'hb.dcm');
    assert.deepEqual(img.pixels, clean);
  });

  test('8-bit MONOCHROME1, implicit VR little endian', async () => {
    const px = new Uint8Array([0, 10, 20, 255, 128, 7, 9, 1, 3]);
    const img = await decodeImage(makeDicom({ transferSyntax: TS.implicitLE, rows: 3, columns: 3, bitsAllocated: 8, photometric: 'MONOCHROME1', pixels: px }), 'm1.dcm');
    assert.equal(img.photometric, 'MONOCHROME1');
    assert.equal(img.bitsStored, 8);
    assert.deepEqual(Array.from(img.pixels), Array.from(px));
    assert.equal(img.transferSyntax, TS.implicitLE);
  });

  test('windows from Window Center/Width (multi-valued, with explanations), then Auto and Full range', async () => {
    const img = await decodeImage(
      makeDicom({
        rows: 4,
        columns: 4,
        bitsStored: 12,
        pixels: testImage(4, 4, 12),
        attrs: { WindowCenter: [2000, 1500], WindowWidth: [4000, 800], WindowCenterWidthExplanation: ['NORMAL', 'HARD'], RescaleIntercept: -1024 },
      }),
      'w.dcm',
    );
    assert.deepEqual(img.windows.slice(0, 2), [
      { name: 'NORMAL', center: 2000, width: 4000 },
      { name: 'HARD', center: 1500, width: 800 },
    ]);
    assert.deepEqual(
      img.windows.slice(2).map((w) => w.name),
      ['Auto (1st–99th percentile)', 'Full range'],
    );
    const full = img.windows[3];
    assert.equal(full.center, (img.minPixel + img.maxPixel) / 2 - 1024);
    assert.equal(full.width, img.maxPixel - img.minPixel);
  });

  test('VOI LUT Sequence becomes a linear window over the rising part of the LUT, named by its explanation', async () => {
    const entries = 4096;
    const lut = new Uint16Array(entries);
    for (let i = 0; i < entries; i++) lut[i] = i < 1000 ? 0 : i > 3000 ? 60000 : (i - 1000) * 30;
    for (const ts of [TS.explicitLE, TS.implicitLE]) {
      const img = await decodeImage(
        makeDicom({
          transferSyntax: ts,
          bitsStored: 12,
          pixels: testImage(4, 4, 12),
          attrs: {
            VOILUTSequence: [{ LUTDescriptor: [entries, 0, 16], LUTExplanation: 'SOFT TISSUE', LUTData: lut, _vrMap: { LUTData: 'OW', LUTDescriptor: 'US' } }],
          },
        }),
        'voi.dcm',
      );
      assert.deepEqual(img.windows[0], { name: 'SOFT TISSUE', center: 2000, width: 2000 }, ts);
    }
  });

  test('no VOI tags: the default window is the 1st-99th percentile (from a histogram)', async () => {
    const px = new Uint16Array(10000).map((_, i) => i); // ramp 0..9999
    const img = await decodeImage(makeDicom({ rows: 100, columns: 100, bitsStored: 14, pixels: px, attrs: { RescaleSlope: 0.5, RescaleIntercept: 10 } }), 'ramp.dcm');
    // nearest rank: 1st percentile = value 99, 99th = 9899; in modality units * 0.5 + 10
    assert.deepEqual(img.windows[0], { name: 'Auto (1st–99th percentile)', center: ((99 + 9899) / 2) * 0.5 + 10, width: (9899 - 99) * 0.5 });
    const stats = computePixelStats(img.pixels);
    assert.deepEqual(computeDefaultWindow(stats, 0.5, 10), img.windows[0]);
    assert.equal(img.minPixel, 0);
    assert.equal(img.maxPixel, 9999);
  });

  test('explicit VR big endian', async () => {
    const px = testImage(5, 7, 16, 9);
    const img = await decodeImage(makeDicom({ transferSyntax: TS.explicitBE, rows: 5, columns: 7, pixels: swap16(px) }), 'be.dcm');
    assert.deepEqual(img.pixels, px);
    assert.equal(img.rows, 5);
    assert.equal(img.columns, 7);
  });

  test('deflated explicit VR little endian', async () => {
    const px = testImage(6, 6, 12, 4);
    const file = makeDicom({ transferSyntax: TS.deflated, rows: 6, columns: 6, bitsStored: 12, pixels: px, attrs: { PatientName: 'DEFLATE^TEST', PixelSpacing: [0.2, 0.25] } });
    const img = await decodeImage(file, 'deflated.dcm');
    assert.deepEqual(img.pixels, px);
    assert.equal(img.dicom?.patientName, 'DEFLATE^TEST');
    assert.deepEqual(img.pixelSpacing, [0.2, 0.25]);
  });

  test('bare data sets without the Part 10 header (implicit and explicit VR)', async () => {
    const px = testImage(4, 5, 10, 5);
    for (const ts of [TS.implicitLE, TS.explicitLE]) {
      const bare = stripPart10(makeDicom({ transferSyntax: ts, rows: 4, columns: 5, bitsStored: 10, pixels: px }));
      assert.equal(sniffFormat(bare), 'dicom-raw');
      const img = await decodeImage(bare, 'bare.dcm');
      assert.deepEqual(img.pixels, px, ts);
      assert.equal(img.transferSyntax, ts);
    }
    // file meta elements present but no preamble and no 'DICM'
    const metaFirst = makeDicom({ transferSyntax: TS.explicitLE, rows: 4, columns: 5, bitsStored: 10, pixels: px }).slice(132);
    assert.equal(sniffFormat(metaFirst), 'dicom-raw');
    assert.deepEqual((await decodeImage(metaFirst, 'meta.dcm')).pixels, px);
  });

  test('multi-frame: the first frame is used (native and encapsulated)', async () => {
    const f1 = testImage(4, 4, 12, 1);
    const f2 = testImage(4, 4, 12, 2);
    const both = new Uint16Array(32);
    both.set(f1);
    both.set(f2, 16);
    const img = await decodeImage(makeDicom({ rows: 4, columns: 4, bitsStored: 12, pixels: both, attrs: { NumberOfFrames: 2 } }), 'mf.dcm');
    assert.deepEqual(img.pixels, f1);
    const frames = await Promise.all([f1, f2].map((f) => encodeFrame('encodeRle', f, 4, 4, 16, 12)));
    const enc = await decodeImage(makeDicom({ transferSyntax: TS.rle, rows: 4, columns: 4, bitsStored: 12, frames, attrs: { NumberOfFrames: 2 } }), 'mf-rle.dcm');
    assert.deepEqual(enc.pixels, f1);
  });

  test('pixel spacing: Pixel Spacing, else Imager Pixel Spacing; zero or invalid values ignored', async () => {
    const s = async (attrs: Record<string, unknown>) => (await decodeImage(makeDicom({ attrs }), 's.dcm')).pixelSpacing;
    assert.deepEqual(await s({ PixelSpacing: [0.14, 0.15] }), [0.14, 0.15]);
    assert.deepEqual(await s({ ImagerPixelSpacing: [0.2, 0.2] }), [0.2, 0.2]);
    assert.deepEqual(await s({ PixelSpacing: [0, 0], ImagerPixelSpacing: [0.3, 0.3] }), [0.3, 0.3]);
    assert.equal(await s({ PixelSpacing: [-1, 0.2] }), null);
    assert.equal(await s({}), null);
  });

  test('missing SOP Instance / Study Instance UIDs are left empty for the caller to generate', async () => {
    const img = await decodeImage(makeDicom({ attrs: { SOPInstanceUID: undefined, StudyInstanceUID: undefined, SeriesInstanceUID: undefined } }), 'nouid.dcm');
    assert.equal(img.dicom?.sopInstanceUid, '');
    assert.equal(img.dicom?.studyInstanceUid, '');
    assert.equal(img.dicom?.seriesInstanceUid, '');
  });

  test('attributes are read, in the declared character set', async () => {
    const img = await decodeImage(
      makeDicom({
        attrs: {
          SpecificCharacterSet: 'ISO_IR 192',
          PatientName: 'Müller^Zoë',
          PatientID: 'P-42',
          PatientBirthDate: '19700101',
          PatientSex: 'F',
          StudyTime: '101500',
          AccessionNumber: 'ACC1',
          StudyDescription: 'CHEST PA',
          SeriesDescription: 'PA',
          SeriesNumber: 3,
          InstitutionName: 'Clinic',
          Modality: 'DX',
          SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1',
        },
      }),
      'attrs.dcm',
    );
    const d = img.dicom!;
    assert.equal(d.patientName, 'Müller^Zoë');
    assert.equal(d.patientId, 'P-42');
    assert.equal(d.patientBirthDate, '19700101');
    assert.equal(d.patientSex, 'F');
    assert.equal(d.studyDate, '20260101');
    assert.equal(d.studyTime, '101500');
    assert.equal(d.accessionNumber, 'ACC1');
    assert.equal(d.studyDescription, 'CHEST PA');
    assert.equal(d.seriesDescription, 'PA');
    assert.equal(d.seriesNumber, 3);
    assert.equal(d.institutionName, 'Clinic');
    assert.equal(d.modality, 'DX');
    assert.equal(d.sopClassUid, '1.2.840.10008.5.1.4.1.1.1.1');
    assert.equal(d.bodyPartExamined, 'CHEST');
    assert.equal(d.viewPosition, 'PA');
  });
});

// ---------------------------------------------------------------------------------------------------------
type Encoder = 'encodeRle' | 'encodeJpeg' | 'encodeJpegLs' | 'encodeJpeg2000' | 'encodeHtJpeg2000';

async function encodeFrame(enc: Encoder, px: Uint16Array, rows: number, columns: number, bitsAllocated: number, bitsStored: number, signed = false, params: Record<string, unknown> = {}): Promise<Uint8Array> {
  const { NativeCodecs, Context } = await loadCodecs();
  const raw = bitsAllocated === 8 ? Uint8Array.from(px) : new Uint8Array(px.buffer, px.byteOffset, px.byteLength);
  const ctx = new Context({
    width: columns,
    height: rows,
    bitsAllocated,
    bitsStored,
    samplesPerPixel: 1,
    pixelRepresentation: signed ? 1 : 0,
    planarConfiguration: 0,
    photometricInterpretation: 'MONOCHROME2',
    decodedBuffer: raw,
  });
  const out = (NativeCodecs[enc] as (c: typeof ctx, p?: Record<string, unknown>) => typeof ctx)(ctx, params).getEncodedBuffer();
  assert.ok(out && out.length > 0);
  return out.slice();
}

describe('compressed transfer syntaxes (round trip through the codecs, checked against GDCM)', () => {
  const cases: Array<{ ts: string; enc: Encoder; bits: number; params?: Record<string, unknown>; signed?: boolean; tolerance?: number }> = [
    { ts: TS.rle, enc: 'encodeRle', bits: 12 },
    { ts: TS.rle, enc: 'encodeRle', bits: 8 },
    { ts: TS.jpegLosslessSV1, enc: 'encodeJpeg', bits: 12, params: { lossy: false } },
    { ts: TS.jpegLosslessSV1, enc: 'encodeJpeg', bits: 16, params: { lossy: false } },
    { ts: TS.jpegLsLossless, enc: 'encodeJpegLs', bits: 12, params: { lossy: false } },
    { ts: TS.jpegLsLossless, enc: 'encodeJpegLs', bits: 12, params: { lossy: false }, signed: true },
    { ts: TS.j2kLossless, enc: 'encodeJpeg2000', bits: 12, params: { lossy: false } },
    { ts: TS.j2kLossless, enc: 'encodeJpeg2000', bits: 16, params: { lossy: false }, signed: true },
    { ts: TS.htj2kLossless, enc: 'encodeHtJpeg2000', bits: 12, params: { lossy: false } },
    { ts: TS.jpegBaseline, enc: 'encodeJpeg', bits: 8, params: { lossy: true, quality: 95 }, tolerance: 12 },
  ];
  for (const c of cases) {
    test(`${c.ts} ${c.bits}-bit${c.signed ? ' signed' : ''}`, async () => {
      const rows = 48;
      const columns = 40;
      const bitsAllocated = c.bits > 8 ? 16 : 8;
      const unsignedValues = testImage(rows, columns, c.bits, c.bits);
      // signed: the same image shifted to be centred on 0, as two's complement in the 16-bit word
      const stored = c.signed ? unsignedValues.map((v) => (v - 2 ** (c.bits - 1)) & 0xffff) : unsignedValues;
      const frame = await encodeFrame(c.enc, stored, rows, columns, bitsAllocated, c.bits, c.signed, c.params);
      const file = makeDicom({ transferSyntax: c.ts, rows, columns, bitsAllocated, bitsStored: c.bits, pixelRepresentation: c.signed ? 1 : 0, frames: [frame] });
      const img = await decodeImage(file, 'c.dcm');
      assert.equal(img.transferSyntax, c.ts);
      assert.equal(img.bitsStored, c.bits);
      const tol = c.tolerance ?? 0;
      let maxDiff = 0;
      for (let i = 0; i < unsignedValues.length; i++) maxDiff = Math.max(maxDiff, Math.abs(img.pixels[i] - unsignedValues[i]));
      assert.ok(maxDiff <= tol, `max difference to the source image ${maxDiff}`);
      if (c.signed) assert.equal(img.rescaleIntercept, -(2 ** (c.bits - 1)));
      // independent decoder
      const p = path.join(tmp, `c-${c.ts}-${c.bits}-${c.signed ? 's' : 'u'}.dcm`);
      fs.writeFileSync(p, file);
      const ref = gdcmPixels(p, bitsAllocated);
      if (ref) {
        const refUnsigned = c.signed ? Uint16Array.from(ref, (v) => ((v & ((1 << c.bits) - 1)) ^ (1 << (c.bits - 1)))) : ref;
        compareWithGdcm(img, refUnsigned, Math.min(tol, 2), `${c.ts}`);
      }
    });
  }
});

const HAVE_DCMCJPEG = (() => {
  try {
    execFileSync('dcmcjpeg', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

test('JPEG Extended 12-bit (.51) written by dcmtk matches GDCM', { skip: HAVE_DCMCJPEG && HAVE_GDCM ? false : missingToolReason([...(HAVE_DCMCJPEG ? [] : ['dcmcjpeg']), ...(HAVE_GDCM ? [] : ['gdcmraw'])]) }, async () => {
  const src = path.join(tmp, 'u12.dcm');
  const dst = path.join(tmp, 'e12.dcm');
  fs.writeFileSync(src, makeDicom({ rows: 64, columns: 64, bitsStored: 12, pixels: testImage(64, 64, 12) }));
  execFileSync('dcmcjpeg', ['+ee', src, dst], { stdio: 'pipe' });
  const img = await decodeImage(new Uint8Array(fs.readFileSync(dst)), dst);
  assert.equal(img.transferSyntax, '1.2.840.10008.1.2.4.51');
  assert.equal(img.bitsStored, 12);
  const ref = gdcmPixels(dst, 16);
  assert.ok(ref, 'gdcmraw decodes it');
  compareWithGdcm(img, ref, 2, '.51 12-bit');
});

test('the codecs WebAssembly file is found in node_modules, and can be configured', async () => {
  const wasm = resolveWasmPath();
  assert.ok(wasm.endsWith('dcmjs-native-codecs.wasm') && fs.existsSync(wasm), wasm);
  configureImaging({ wasmPath: wasm });
  assert.equal(resolveWasmPath(), wasm);
  await loadCodecs();
});

test('a decode that passes the time limit is abandoned, and the next one works', async () => {
  const px = testImage(512, 512, 12, 8);
  const frame = await encodeFrame('encodeJpeg2000', px, 512, 512, 16, 12, false, { lossy: false });
  const file = makeDicom({ transferSyntax: TS.j2kLossless, rows: 512, columns: 512, bitsStored: 12, frames: [frame] });
  configureImaging({ decodeTimeoutMs: 1 });
  try {
    await rejectsWith(decodeImage(file, 'slow.dcm'), 'DICOM_DECODE_FAILED', /longer than .* abandoned/);
  } finally {
    configureImaging({ decodeTimeoutMs: DEFAULT_DECODE_TIMEOUT_MS });
  }
  assert.deepEqual((await decodeImage(file, 'again.dcm')).pixels, px);
});

// ---------------------------------------------------------------------------------------------------------
describe('PNG and JPEG', () => {
  function png(width: number, height: number, data: Uint8Array | Uint16Array, opts: Record<string, unknown>): Uint8Array {
    const img = new PNG({ width, height, ...opts });
    (img as unknown as { data: unknown }).data = data;
    return new Uint8Array(PNG.sync.write(img, opts));
  }

  test('8-bit grayscale PNG', async () => {
    const w = 7;
    const h = 5;
    const gray = new Uint8Array(w * h).map((_, i) => (i * 7) % 256);
    const rgba = new Uint8Array(w * h * 4);
    gray.forEach((g, i) => rgba.set([g, g, g, 255], i * 4));
    const bytes = png(w, h, rgba, { colorType: 0, inputColorType: 6, bitDepth: 8 });
    assert.equal(sniffFormat(bytes), 'png');
    const img = await decodeImage(bytes, 'g8.png');
    assert.equal(img.format, 'png');
    assert.equal(img.bitsStored, 8);
    assert.equal(img.photometric, 'MONOCHROME2');
    assert.deepEqual(Array.from(img.pixels), Array.from(gray));
    assert.equal(img.dicom, null);
    assert.equal(img.transferSyntax, null);
    assert.deepEqual(img.windows.map((x) => x.name), ['Auto (1st–99th percentile)', 'Full range']);
  });

  test('16-bit grayscale PNG keeps 16 bits', async () => {
    const w = 6;
    const h = 4;
    const gray = new Uint16Array(w * h).map((_, i) => i * 2700);
    const rgba = new Uint16Array(w * h * 4);
    gray.forEach((g, i) => rgba.set([g, g, g, 65535], i * 4));
    const bytes = png(w, h, rgba, { colorType: 0, inputColorType: 6, bitDepth: 16 });
    const img = await decodeImage(bytes, 'g16.png');
    assert.equal(img.bitsStored, 16);
    assert.deepEqual(img.pixels, gray);
    assert.equal(img.maxPixel, 23 * 2700);
  });

  test('RGB and RGBA PNG become luminance', async () => {
    const rgb = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [100, 100, 100],
    ];
    const expected = rgb.map(([r, g, b]) => Math.round(0.299 * r + 0.587 * g + 0.114 * b));
    for (const colorType of [2, 6]) {
      // colour type 6 keeps a half-transparent alpha, which is ignored
      const rgba = new Uint8Array(rgb.flatMap(([r, g, b]) => [r, g, b, colorType === 6 ? 128 : 255]));
      const img = await decodeImage(png(2, 2, rgba, { colorType, inputColorType: 6, bitDepth: 8 }), 'c.png');
      assert.deepEqual(Array.from(img.pixels), expected, `colour type ${colorType}`);
    }
  });

  test('palette PNG becomes luminance', async () => {
    const img = await decodeImage(makePalettePng(3, 1, new Uint8Array([0, 1, 2]), [[0, 0, 0], [200, 200, 200], [255, 0, 0]]), 'p.png');
    assert.deepEqual(Array.from(img.pixels), [0, 200, 76]);
  });

  test('JPEG (grayscale content and colour) becomes luminance', async () => {
    const w = 32;
    const h = 24;
    const gray = testImage(h, w, 8, 11);
    const rgba = new Uint8Array(w * h * 4);
    gray.forEach((g, i) => rgba.set([g, g, g, 255], i * 4));
    const bytes = new Uint8Array(jpegjs.encode({ width: w, height: h, data: rgba }, 95).data);
    assert.equal(sniffFormat(bytes), 'jpeg');
    const img = await decodeImage(bytes, 'g.jpg');
    assert.equal(img.format, 'jpeg');
    assert.equal(img.bitsStored, 8);
    assert.equal(img.rows, h);
    assert.equal(img.columns, w);
    let maxDiff = 0;
    for (let i = 0; i < gray.length; i++) maxDiff = Math.max(maxDiff, Math.abs(img.pixels[i] - gray[i]));
    assert.ok(maxDiff <= 12, `lossy JPEG differs by up to ${maxDiff}`);

    const red = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) red.set([200, 40, 40, 255], i * 4);
    const c = await decodeImage(new Uint8Array(jpegjs.encode({ width: w, height: h, data: red }, 95).data), 'c.jpg');
    const expected = Math.round(0.299 * 200 + 0.587 * 40 + 0.114 * 40);
    assert.ok(Math.abs(c.pixels[100] - expected) <= 3, `${c.pixels[100]} vs ${expected}`);
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('refused inputs', () => {
  const sample = (f: string) => new Uint8Array(fs.readFileSync(path.join(SAMPLES, f)));
  const skipNoSamples = HAVE_SAMPLES ? false : 'no shared samples';

  test('empty file', async () => {
    await rejectsWith(decodeImage(new Uint8Array(0), '/some/dir/empty.dcm'), 'EMPTY_FILE', /^empty\.dcm is empty/);
  });

  test('plain text file', async () => {
    await rejectsWith(decodeImage(new TextEncoder().encode('Patient: John Doe\nFinding: normal chest.\n'), 'notes.dcm'), 'NOT_AN_IMAGE', /text file/);
  });

  test('ZIP archive', async () => {
    const zip = makeZip('chest.dcm', makeDicom({}));
    assert.equal(sniffFormat(zip), 'zip');
    await rejectsWith(decodeImage(zip, 'study.dcm'), 'NOT_AN_IMAGE', /ZIP archive/);
  });

  test('unrecognised binary and other image formats', async () => {
    await rejectsWith(decodeImage(new Uint8Array(300).map((_, i) => (i * 97 + 13) % 256 || 1).fill(0, 10, 20), 'x.bin'), 'NOT_AN_IMAGE');
    await rejectsWith(decodeImage(new TextEncoder().encode('GIF89a....'), 'x.gif'), 'NOT_AN_IMAGE', /GIF/);
    await rejectsWith(decodeImage(new Uint8Array([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), 'x.tif'), 'NOT_AN_IMAGE', /TIFF/);
  });

  test('truncated DICOMs (samples cut in half, uncompressed cut short)', { skip: skipNoSamples }, async () => {
    for (const f of ['nema_cr_mono1_10_chest_no_part10_header.dcm', 'siim_cr_chest_pa_jpegbaseline.dcm', 'nema_wg04_rg1_cr_chest_pa_jpegls_nearlossless.dcm', 'nema_wg04_rg1_cr_chest_pa_j2k_lossy.dcm']) {
      const b = sample(f);
      await rejectsWith(decodeImage(b.subarray(0, b.length >> 1), f), 'DICOM_TRUNCATED');
    }
    const synth = makeDicom({ rows: 64, columns: 64, pixels: testImage(64, 64, 16) });
    await rejectsWith(decodeImage(synth.subarray(0, synth.length - 100), 's.dcm'), 'DICOM_TRUNCATED');
    // a header cut inside the meta information
    await rejectsWith(decodeImage(synth.subarray(0, 150), 's.dcm'), 'DICOM_TRUNCATED');
  });

  test('Pixel Data smaller than rows x columns x bits says so (no huge allocation)', async () => {
    const file = makeDicom({ rows: 4, columns: 4, pixels: new Uint16Array(16), attrs: { Rows: 60000, Columns: 60000 } });
    await rejectsWith(decodeImage(file, 'big.dcm'), 'DICOM_TRUNCATED', /Pixel Data holds 32 bytes/);
  });

  test('corrupt bytes', { skip: skipNoSamples }, async () => {
    // garbage after a valid Part 10 prefix
    const r = rng(5);
    const junk = new Uint8Array(4000).map(() => Math.floor(r() * 256));
    junk.set(makeDicom({}).subarray(0, 132));
    await rejectsWith(decodeImage(junk, 'junk.dcm'), 'DICOM_CORRUPT');
    // a JPEG codestream whose header is overwritten
    const b = sample('siim_cr_chest_pa_jpegbaseline.dcm').slice();
    const soi = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xd8 && b[i + 2] === 0xff);
    b.fill(0x5a, soi, soi + 400);
    await rejectsWith(decodeImage(b, 'broken.dcm'), 'DICOM_DECODE_FAILED', /JPEG Baseline \(Process 1\) pixel data cannot be decoded/);
  });

  test('DICOM SR (no pixel data)', async () => {
    const sr = makeDicom({ noPixelData: true, attrs: { SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.33', Modality: 'SR', Rows: undefined, Columns: undefined } });
    await rejectsWith(decodeImage(sr, 'report.dcm'), 'DICOM_NO_PIXEL_DATA', /Comprehensive SR \(1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.33\), modality SR with no pixel data/);
  });

  test('unsupported transfer syntax (MPEG2)', async () => {
    const file = makeDicom({ transferSyntax: TS.mpeg2, bitsAllocated: 8, frames: [new Uint8Array([0, 0, 1, 0xb3, 1, 2, 3, 4])] });
    await rejectsWith(decodeImage(file, 'video.dcm'), 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX', /MPEG2 \(1\.2\.840\.10008\.1\.2\.4\.100\) cannot be decoded/);
    const unknown = makeDicom({ transferSyntax: '1.2.3.4.5.6', bitsAllocated: 8, frames: [new Uint8Array(8)] });
    await rejectsWith(decodeImage(unknown, 'x.dcm'), 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX', /unknown transfer syntax 1\.2\.3\.4\.5\.6/);
  });

  test('colour and other unsupported DICOM images', async () => {
    await rejectsWith(
      decodeImage(makeDicom({ bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB', pixels: new Uint8Array(48), attrs: { PlanarConfiguration: 0 } }), 'rgb.dcm'),
      'DICOM_UNSUPPORTED_IMAGE',
      /colour image \(RGB, 3 samples per pixel\)/,
    );
    await rejectsWith(decodeImage(makeDicom({ bitsAllocated: 8, photometric: 'PALETTE COLOR', pixels: new Uint8Array(16) }), 'pal.dcm'), 'DICOM_UNSUPPORTED_IMAGE', /PALETTECOLOR|PALETTE/);
    await rejectsWith(decodeImage(makeDicom({ bitsAllocated: 32, bitsStored: 32, pixels: new Uint8Array(64) }), 'b32.dcm'), 'DICOM_UNSUPPORTED_IMAGE', /Bits Allocated 32/);
  });

  test('compressed image larger than the dimension limit', async () => {
    const frame = await encodeFrame('encodeRle', testImage(4, 4, 12), 4, 4, 16, 12);
    await rejectsWith(decodeImage(makeDicom({ transferSyntax: TS.rle, bitsStored: 12, frames: [frame], attrs: { Rows: 20000 } }), 'huge.dcm'), 'FILE_TOO_LARGE');
  });

  test('codec failure on a frame that does not match the header', async () => {
    const frame = await encodeFrame('encodeJpegLs', testImage(4, 4, 12), 4, 4, 16, 12);
    await rejectsWith(decodeImage(makeDicom({ transferSyntax: TS.jpegLsLossless, bitsStored: 12, frames: [frame.subarray(0, 20)] }), 'cut.dcm'), 'DICOM_DECODE_FAILED');
  });

  test('corrupt and truncated PNG and JPEG', async () => {
    const rgba = new Uint8Array(16 * 16 * 4).fill(200);
    const good = new Uint8Array(PNG.sync.write(Object.assign(new PNG({ width: 16, height: 16 }), { data: Buffer.from(rgba) })));
    await rejectsWith(decodeImage(good.subarray(0, good.length - 30), 't.png'), 'PNG_CORRUPT');
    const badCrc = good.slice();
    badCrc[40] ^= 0xff;
    await rejectsWith(decodeImage(badCrc, 'crc.png'), 'PNG_CORRUPT');
    await rejectsWith(decodeImage(good.subarray(0, 20), 'head.png'), 'PNG_CORRUPT');
    await rejectsWith(decodeImage(makeHugePngHeader(100000, 100000), 'huge.png'), 'FILE_TOO_LARGE');
    const jpg = new Uint8Array(jpegjs.encode({ width: 16, height: 16, data: rgba }, 90).data);
    await rejectsWith(decodeImage(jpg.subarray(0, jpg.length >> 1), 't.jpg'), 'JPEG_CORRUPT');
    await rejectsWith(decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6]), 'x.jpg'), 'JPEG_CORRUPT');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('out of scope', () => {
  const refused = (attrs: Record<string, unknown>, re: RegExp) => rejectsWith(decodeImage(makeDicom({ attrs }), 'oos.dcm'), 'OUT_OF_SCOPE', re);

  test('non-radiograph modalities, named', async () => {
    await refused({ Modality: 'CT', SOPClassUID: '1.2.840.10008.5.1.4.1.1.2' }, /a CT \(computed tomography\) image/);
    await refused({ Modality: 'MR' }, /an MR \(magnetic resonance\) image/);
    await refused({ Modality: 'US' }, /a US \(ultrasound\) image/);
    await refused({ Modality: 'NM' }, /NM \(nuclear medicine\)/);
    await refused({ Modality: undefined, SOPClassUID: '1.2.840.10008.5.1.4.1.1.4' }, /magnetic resonance image \(SOP Class/);
  });

  test('lateral and oblique views', async () => {
    await refused({ ViewPosition: 'LL' }, /^oos\.dcm: a lateral chest radiograph; the workstation reads frontal human chest X-rays only \(View Position 'LL'\)/);
    await refused({ ViewPosition: 'RL' }, /lateral/);
    await refused({ ViewPosition: 'LATERAL' }, /lateral/);
    await refused({ ViewPosition: undefined, SeriesDescription: 'CHEST LATERAL' }, /a lateral chest radiograph.*Series Description 'CHEST LATERAL'/);
    await refused({ ViewPosition: '', ProtocolName: 'Thorax lateral' }, /lateral/);
    await refused({ ViewPosition: 'RAO' }, /an oblique chest radiograph/);
  });

  test('frontal views stay in scope', async () => {
    for (const attrs of [
      { ViewPosition: 'AP' },
      { ViewPosition: 'PA', SeriesDescription: 'LATERAL' }, // View Position wins over a description
      { ViewPosition: undefined, SeriesDescription: 'Chest PA' },
      { ViewPosition: undefined, ProtocolName: 'CHEST LEFT LATERAL DECUBITUS' },
      { ViewPosition: undefined, StudyDescription: 'CHEST PA AND LATERAL' }, // study level: covers both views
      { Modality: 'DX' },
      { PatientSpeciesDescription: 'Homo sapiens' },
    ]) {
      const img = await decodeImage(makeDicom({ attrs }), 'ok.dcm');
      assert.equal(img.format, 'dicom', JSON.stringify(attrs));
    }
  });

  test('non-human patients', async () => {
    await refused({ PatientSpeciesDescription: 'Canis lupus familiaris' }, /a veterinary \(canine\) chest radiograph.*Patient Species 'Canis lupus familiaris'/);
    await refused({ PatientBreedDescription: 'Labrador' }, /veterinary chest radiograph.*Patient Breed 'Labrador'/);
    await refused({ InstitutionName: 'City Veterinary Hospital' }, /veterinary/);
    await refused({ StudyDescription: 'FELINE THORAX' }, /veterinary \(feline\)/);
    await refused({ ViewPosition: 'LL', AcquisitionDeviceProcessingDescription: 'CANINE LATERAL THORAX', BodyPartExamined: 'THORAX' }, /a lateral veterinary \(canine\) thorax radiograph/);
  });
});

test('sniffFormat', () => {
  assert.equal(sniffFormat(new Uint8Array(0)), 'empty');
  assert.equal(sniffFormat(makeDicom({})), 'dicom');
  assert.equal(sniffFormat(makeDicom({}).subarray(128)), 'dicom', "'DICM' without the preamble");
  assert.equal(sniffFormat(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])), 'png');
  assert.equal(sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), 'jpeg');
  assert.equal(sniffFormat(new TextEncoder().encode('%PDF-1.7\n')), 'pdf');
  assert.equal(sniffFormat(new TextEncoder().encode('hello world')), 'text');
});

test('a DICOM without its preamble (DICM at offset 0) decodes', async () => {
  const px = testImage(4, 4, 12);
  const img = await decodeImage(makeDicom({ bitsStored: 12, pixels: px }).subarray(128), 'nopre.dcm');
  assert.deepEqual(img.pixels, px);
});

test('initial window: a file window beside the image\'s values (other units) gives way to Auto; one inside them is kept', () => {
  const auto = { name: 'Auto (1st–99th percentile)', center: 2000, width: 2000 };
  const full = { name: 'Full range', center: 2000, width: 4000 };
  const beside = chooseInitialWindow([{ name: 'LUNG', center: -600, width: 1500 }, auto, full]);
  assert.equal(beside.index, 1);
  assert.match(beside.reason, /leaves 100% of the image’s values black or white/);
  // a narrow window inside the image's values (a deliberate choice) is the file's to make
  assert.equal(chooseInitialWindow([{ name: 'SOFT', center: 2200, width: 800 }, auto, full]).source, 'file');
  // at the bounds: three quarters of the grey scale is enough, a little less is not
  assert.equal(chooseInitialWindow([{ name: 'W', center: 2000, width: 2000 / 0.75 }, auto, full]).source, 'file');
  assert.equal(chooseInitialWindow([{ name: 'W', center: 2000, width: 2000 / 0.74 }, auto, full]).source, 'auto');
});
