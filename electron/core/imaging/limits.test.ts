// Decompression bombs and images that declare more than any chest radiograph: each is refused from its header (or
// when its inflation passes the cap) with FILE_TOO_LARGE, before a pixel is decoded (no job reaches a decoder
// thread), and an import of it leaves nothing in the store. A real image near the limits still decodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { codecJobs, decodeImage, MAX_DIMENSION, rasterJobs } from './index';
import { checkDeclaredSize } from './limits';
import { TS } from './testFixtures';
import { blankPng, compressedDicom, deflatedDicomBomb, j2kClaiming, jpegClaiming, pngBomb } from '../../testing/bombs';
import { CaseStore, blobDirFor } from '../store/index';
import { importBytes } from '../importing/index';
import { tempDbPath } from '../../testing/index';

async function refused(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

/** Files in a store's blob folder (sealed images and originals, and anything left in its temporary folder). */
function blobFiles(dbPath: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (f: string) => out.push(f))(path.join(d, e.name));
  };
  walk(blobDirFor(dbPath));
  return out;
}

const bombs = (): { name: string; bytes: Uint8Array; message: RegExp }[] => [
  // the JPEG-in-DICOM whose frame header declares 16384 x 16384, behind Rows/Columns that say the same or say little
  { name: 'jpeg-sof-16384.dcm', bytes: compressedDicom(TS.jpegBaseline, jpegClaiming(16384, 16384), 16384, 16384), message: /DICOM header \(Columns x Rows\) declares 16384 x 16384 .* refused before decoding/ },
  { name: 'jpeg-sof-16384-small-header.dcm', bytes: compressedDicom(TS.jpegBaseline, jpegClaiming(16384, 16384), 512, 512), message: /JPEG frame header \(SOF\) declares 16384 x 16384/ },
  // the JPEG 2000 frame whose SIZ declares 16384 x 16384
  { name: 'j2k-siz-16384.dcm', bytes: compressedDicom(TS.j2k, j2kClaiming(16384, 16384), 512, 512, 16), message: /JPEG 2000 image header \(SIZ\) declares 16384 x 16384/ },
  // 512 MB of deflated data set in about half a megabyte
  { name: 'deflate-bomb.dcm', bytes: deflatedDicomBomb(), message: /inflates to more than \d+ MB.*decompression bomb/ },
  // a blank PNG and a JPEG that declare 8192 x 8192 and 16384 x 16384
  { name: 'blank-8192.png', bytes: pngBomb(8192, 8192, 8192 * 8193, false), message: /PNG image header declares 8192 x 8192/ },
  { name: 'sof-16384.jpg', bytes: jpegClaiming(16384, 16384), message: /JPEG frame header declares 16384 x 16384/ },
];

test('images declaring more than a chest radiograph are refused from their headers, before any decoding', async () => {
  const codec = codecJobs();
  const raster = rasterJobs();
  for (const b of bombs()) {
    assert.ok(b.bytes.length < 1024 * 1024, `${b.name} is ${b.bytes.length} bytes`);
    await refused(decodeImage(b.bytes, b.name), 'FILE_TOO_LARGE', b.message);
  }
  assert.equal(codecJobs(), codec, 'no frame reached the codec thread');
  assert.equal(rasterJobs(), raster, 'no file reached the PNG/JPEG decoder thread');
});

test('a PNG whose image data inflates past what its header allows is refused, interlaced or not', async () => {
  // 2000 x 2000 grey needs 4 MB; these inflate to 300 MB
  await refused(decodeImage(pngBomb(2000, 2000, 300 * 2 ** 20, true), 'interlaced-bomb.png'), 'FILE_TOO_LARGE', /inflates to more than its header allows/);
  await assert.rejects(decodeImage(pngBomb(2000, 2000, 300 * 2 ** 20, false), 'bomb.png'), (e: unknown) => e instanceof AppError && e.code === 'PNG_CORRUPT');
});

test('an import of each refused file leaves nothing behind', async () => {
  const dbPath = tempDbPath();
  const store = CaseStore.open(dbPath);
  try {
    for (const b of bombs()) await assert.rejects(importBytes(store, b.bytes, b.name), (e: unknown) => e instanceof AppError && e.code === 'FILE_TOO_LARGE');
    assert.equal(store.countCases(), 0);
    assert.deepEqual(blobFiles(dbPath), []);
  } finally {
    store.close();
  }
});

test('the limits leave room for real radiographs: the largest detectors pass, a little more does not', async () => {
  assert.doesNotThrow(() => checkDeclaredSize(4300, 4300, 'x', 'header'), 'a 43 cm detector at 100 µm');
  assert.doesNotThrow(() => checkDeclaredSize(5000, 5000, 'x', 'header'));
  assert.doesNotThrow(() => checkDeclaredSize(MAX_DIMENSION, 3000, 'x', 'header'), 'a long stitched image');
  assert.throws(() => checkDeclaredSize(5001, 5000, 'x', 'header'), /megapixels/);
  assert.throws(() => checkDeclaredSize(MAX_DIMENSION + 1, 100, 'x', 'header'), /pixels a side/);
  const img = await decodeImage(blankPng(2000, 2500, 128), 'blank.png');
  assert.deepEqual([img.columns, img.rows, img.minPixel, img.maxPixel], [2000, 2500, 128, 128]);
});
