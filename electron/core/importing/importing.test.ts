import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CaseStore, blobDirFor } from '../store/index';
import { importBytes, importFile, importPaths, expandPaths, uidFromHash, type BatchItemResult } from './index';
import { AppError } from '../errors';
import { tempDbPath, tempDir, datasetsDir } from '../../testing/index';

const samples = path.join(datasetsDir, 'dicom_samples');

function pngBytes(w: number, h: number, seed: number): Uint8Array {
  const png = new PNG({ width: w, height: h, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let i = 0; i < w * h; i++) png.data[i] = (i * seed) % 251;
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}

function counts(store: CaseStore) {
  const n = (t: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  return { patients: n('patients'), studies: n('studies'), series: n('series'), images: n('images') };
}

test('a PNG gets generated UIDs under 2.25, stable for the same file', async () => {
  const store = CaseStore.open(tempDbPath());
  const bytes = pngBytes(64, 48, 7);
  const a = await importBytes(store, bytes, 'chest.png');
  assert.equal(a.status, 'imported');
  if (a.status !== 'imported') return;
  assert.match(a.sopInstanceUid, /^2\.25\.\d{10,39}$/);
  assert.ok(a.sopInstanceUid.length <= 64);
  const b = await importBytes(store, bytes, 'copy-of-chest.png');
  assert.equal(b.status, 'duplicate');
  const detail = store.getCase(a.caseId);
  assert.equal(detail.images[0].rows, 48);
  assert.equal(detail.images[0].columns, 64);
  assert.equal(detail.description, 'chest.png');
  assert.equal(store.readPixels(a.imageId).byteLength, 64 * 48 * 2);
  assert.deepEqual(counts(store), { patients: 1, studies: 1, series: 1, images: 1 });
  store.close();
});

test('the same pixels under another name are a duplicate by pixel hash', async () => {
  const store = CaseStore.open(tempDbPath());
  const png = pngBytes(32, 32, 3);
  await importBytes(store, png, 'a.png');
  // Same pixels, re-encoded with another compression level: a different file, the same image.
  const decoded = PNG.sync.read(Buffer.from(png));
  const again = new Uint8Array(PNG.sync.write(decoded, { deflateLevel: 1 }));
  assert.notDeepEqual(again, png);
  const r = await importBytes(store, again, 'b.png');
  assert.equal(r.status, 'duplicate');
  if (r.status === 'duplicate') assert.match(r.reason, /identical pixel data/);
  store.close();
});

test('bad inputs are refused with their code and leave nothing behind', async () => {
  const store = CaseStore.open(tempDbPath());
  const cases: [Uint8Array, string, string][] = [
    [new Uint8Array(0), 'empty.dcm', 'EMPTY_FILE'],
    [new TextEncoder().encode('patient notes, not an image\n'.repeat(20)), 'notes.txt', 'NOT_AN_IMAGE'],
    [pngBytes(16, 16, 5).subarray(0, 40), 'cut.png', 'PNG_CORRUPT'],
  ];
  if (fs.existsSync(samples)) {
    const dcm = fs.readFileSync(path.join(samples, 'nema_cr_mono1_10_chest_no_part10_header.dcm'));
    cases.push([new Uint8Array(dcm.subarray(0, Math.floor(dcm.length / 2))), 'half.dcm', 'DICOM_TRUNCATED']);
  }
  for (const [bytes, name, code] of cases) {
    await assert.rejects(importBytes(store, bytes, name), (e: unknown) => e instanceof AppError && e.code === code && e.message.length > 10, `${name} -> ${code}`);
  }
  assert.deepEqual(counts(store), { patients: 0, studies: 0, series: 0, images: 0 });
  const blobs = fs.readdirSync(path.join(blobDirFor(store.dbPath)));
  assert.deepEqual(blobs, ['tmp']);
  store.close();
});

test('a crash between the blob write and the database commit leaves no half case, and the orphan is swept', async () => {
  const dbPath = tempDbPath();
  const store = CaseStore.open(dbPath);
  const original = store.insertImage.bind(store);
  store.insertImage = () => {
    throw Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' });
  };
  await assert.rejects(importBytes(store, pngBytes(20, 20, 9), 'x.png'), /disk is full/);
  store.insertImage = original;
  assert.deepEqual(counts(store), { patients: 0, studies: 0, series: 0, images: 0 });
  store.close();
  const reopened = CaseStore.open(dbPath);
  assert.equal(reopened.sweepOrphanBlobs().removed, 2, 'pixels and original left by the failed import');
  const again = await importBytes(reopened, pngBytes(20, 20, 9), 'x.png');
  assert.equal(again.status, 'imported');
  reopened.close();
});

test('folders are imported recursively; a failure does not stop the batch', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a', 'one.png'), pngBytes(10, 10, 1));
  fs.writeFileSync(path.join(dir, 'a', 'b', 'two.png'), pngBytes(10, 10, 2));
  fs.writeFileSync(path.join(dir, 'a', 'readme.txt'), 'hello, this is not an image at all');
  fs.writeFileSync(path.join(dir, '.hidden.png'), pngBytes(10, 10, 3));
  assert.deepEqual(expandPaths([dir]).files.map((f) => path.relative(dir, f)), [path.join('a', 'b', 'two.png'), path.join('a', 'one.png'), path.join('a', 'readme.txt')]);
  const store = CaseStore.open(tempDbPath());
  const results = [];
  for await (const r of importPaths(store, [dir, path.join(dir, 'nope.dcm')])) results.push(r);
  assert.equal(results.length, 5);
  assert.equal(results.filter((r) => r.ok).length, 2);
  assert.deepEqual(results.filter((r) => !r.ok && !('skipped' in r)).map((r) => (r.ok ? '' : r.error.code)).sort(), ['FILE_UNREADABLE', 'NOT_AN_IMAGE']);
  // the hidden file is not imported, and the batch says so
  const hidden = results.find((r) => !r.ok && 'skipped' in r);
  assert.ok(hidden && !hidden.ok && hidden.error.code === 'HIDDEN' && hidden.file.endsWith('.hidden.png'));
  store.close();
});

test('a folder of symbolic links: links are followed, each file once, loops and broken links reported with a reason', async () => {
  const real = tempDir();
  fs.writeFileSync(path.join(real, 'one.png'), pngBytes(10, 10, 4));
  fs.mkdirSync(path.join(real, 'sub'));
  fs.writeFileSync(path.join(real, 'sub', 'two.png'), pngBytes(10, 10, 5));
  const links = tempDir();
  fs.symlinkSync(path.join(real, 'one.png'), path.join(links, 'a-one.png'));
  fs.symlinkSync(path.join(real, 'one.png'), path.join(links, 'b-one-again.png'));
  fs.symlinkSync(path.join(real, 'sub'), path.join(links, 'c-sub'));
  fs.symlinkSync(links, path.join(links, 'd-loop')); // a link to the folder itself
  fs.symlinkSync(path.join(real, 'gone.png'), path.join(links, 'e-broken.png'));
  fs.symlinkSync(path.join(links, 'f-self'), path.join(links, 'f-self')); // a link to itself
  const store = CaseStore.open(tempDbPath());
  try {
    const results: BatchItemResult[] = [];
    for await (const r of importPaths(store, [links])) results.push(r);
    const byName = (name: string) => results.find((r) => path.basename(r.file) === name)!;
    const imported = results.filter((r) => r.ok && r.outcome.status === 'imported').map((r) => path.basename(r.file)).sort();
    assert.deepEqual(imported, ['a-one.png', 'two.png'], 'a file behind a link and a folder behind a link are imported');
    const reason = (name: string) => {
      const r = byName(name);
      assert.ok(r && !r.ok, `${name}: ${JSON.stringify(r)}`);
      return { code: r.error.code, skipped: 'skipped' in r, message: r.error.message };
    };
    assert.deepEqual({ ...reason('b-one-again.png'), message: undefined }, { code: 'SAME_FILE', skipped: true, message: undefined });
    assert.match(reason('b-one-again.png').message, /same file as .*a-one\.png/);
    assert.equal(reason('d-loop').code, 'LINK_LOOP');
    assert.equal(reason('d-loop').skipped, true);
    assert.match(reason('d-loop').message, /already walks/);
    assert.equal(reason('e-broken.png').code, 'LINK_BROKEN');
    assert.equal(reason('e-broken.png').skipped, false, 'a broken link is a file that could not be read');
    assert.match(reason('e-broken.png').message, /gone\.png, which does not exist/);
    assert.equal(reason('f-self').code, 'LINK_BROKEN');
    assert.match(reason('f-self').message, /never ends/);
    assert.equal(results.length, 6, 'every entry is accounted for');
  } finally {
    store.close();
  }
});

test('a pipe or other special file in a folder is reported, never read (reading a pipe would wait forever)', { skip: process.platform === 'win32' ? 'no named pipes in the file system on Windows' : false }, async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'pipe.dcm');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) return;
  const { unreadable } = expandPaths([dir]);
  assert.deepEqual(unreadable.map((u) => [path.basename(u.path), u.code]), [['pipe.dcm', 'NOT_A_FILE']]);
});

test('a batch stops at the next file when cancelled', async () => {
  const dir = tempDir();
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, `${i}.png`), pngBytes(8, 8, i + 1));
  const store = CaseStore.open(tempDbPath());
  const ctrl = new AbortController();
  let n = 0;
  for await (const _ of importPaths(store, [dir], ctrl.signal)) {
    n++;
    if (n === 2) ctrl.abort();
  }
  assert.equal(n, 2);
  assert.equal(store.countCases(), 2);
  store.close();
});

test('uidFromHash makes valid, distinct DICOM UIDs', () => {
  const h = 'ff'.repeat(32);
  const a = uidFromHash(h, 'sop');
  const b = uidFromHash(h, 'study');
  assert.notEqual(a, b);
  for (const u of [a, b, uidFromHash(h)]) {
    assert.match(u, /^2\.25\.(0|[1-9]\d*)$/);
    assert.ok(u.length <= 64);
  }
});

test('every shared DICOM sample imports, or is refused with a reason', { skip: !fs.existsSync(samples) && `no samples at ${samples}` }, async () => {
  const store = CaseStore.open(tempDbPath());
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(samples).filter((x) => x.endsWith('.dcm')).sort()) {
    try {
      const r = await importFile(store, path.join(samples, f));
      out[f] = r.status;
    } catch (e) {
      out[f] = (e as AppError).code;
    }
  }
  assert.deepEqual(out, {
    'highdicom_dx_thorax_lateral_veterinary_OOD.dcm': 'OUT_OF_SCOPE',
    'nema_cr_mono1_10_chest_no_part10_header.dcm': 'imported',
    'nema_wg04_rg1_cr_chest_pa_j2k_lossy.dcm': 'imported',
    'nema_wg04_rg1_cr_chest_pa_jpegls_nearlossless.dcm': 'imported',
    'siim_cr_chest_pa_jpegbaseline.dcm': 'imported',
    'siim_cr_chest_pa_jpegbaseline_MONOCHROME1_edited.dcm': 'duplicate',
  });
  assert.equal(store.countCases(), 3, 'the two RG1 files are one study');
  store.close();
});

test('uncompressed 16-bit pixels are stored once, read from the original, and checked like a pixels blob', async () => {
  const { makeDicom, testImage, stripPart10, TS } = await import('../imaging/testFixtures');
  const store = CaseStore.open(tempDbPath());
  const blobs = (kind: string) => {
    const dir = path.join(blobDirFor(store.dbPath), kind);
    return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.cxb')).length : 0;
  };
  const clean = testImage(40, 30, 12, 5);
  const a = await importBytes(store, makeDicom({ rows: 40, columns: 30, bitsStored: 12, pixels: clean }), 'clean.dcm');
  assert.equal(a.status, 'imported');
  if (a.status !== 'imported') return;
  const row = store.db.prepare('SELECT pixel_offset FROM images WHERE id = ?').get(a.imageId) as { pixel_offset: number | null };
  assert.ok(row.pixel_offset !== null && row.pixel_offset > 132, 'the pixels are located in the original');
  assert.equal(blobs('pixels'), 0, 'no separate pixels file');
  assert.deepEqual(store.readPixels(a.imageId), new Uint8Array(clean.buffer, clean.byteOffset, clean.byteLength));
  assert.deepEqual(store.loadDecodedImage(a.imageId).pixels, clean);
  assert.deepEqual(store.referencedBlobs().map((b) => b.kind), ['originals']);

  // bits above Bits Stored (an overlay in the high bits): the decoded values differ from the file's words
  const dirty = clean.map((v, i) => (i % 7 === 0 ? v | 0x8000 : v));
  const b = await importBytes(store, makeDicom({ rows: 40, columns: 30, bitsStored: 12, pixels: dirty }), 'overlay-bits.dcm');
  assert.equal(b.status, 'duplicate', 'the same stored values as the first image once masked');
  const c = await importBytes(store, makeDicom({ rows: 40, columns: 30, bitsStored: 12, pixels: dirty.map((v) => v ^ 1) }), 'overlay-bits-2.dcm');
  assert.equal(c.status, 'imported');
  if (c.status !== 'imported') return;
  assert.equal((store.db.prepare('SELECT pixel_offset FROM images WHERE id = ?').get(c.imageId) as { pixel_offset: number | null }).pixel_offset, null);
  assert.equal(blobs('pixels'), 1, 'transformed values get their own pixels file');
  assert.deepEqual(store.loadDecodedImage(c.imageId).pixels, dirty.map((v) => (v ^ 1) & 0x0fff));

  // a raw data set without the Part 10 header (the importer adds one in memory): the offset is in the file as given
  const raw = stripPart10(makeDicom({ rows: 8, columns: 8, transferSyntax: TS.implicitLE, pixels: testImage(8, 8, 16, 9) }));
  const d = await importBytes(store, raw, 'raw.dcm');
  assert.equal(d.status, 'imported');
  if (d.status !== 'imported') return;
  assert.deepEqual(store.loadDecodedImage(d.imageId).pixels, testImage(8, 8, 16, 9));

  // the original damaged on disk: the pixels read from it are refused, as a damaged pixels file is
  const orig = store.blobPath('originals', (store.db.prepare('SELECT source_sha256 FROM images WHERE id = ?').pluck().get(a.imageId) as string));
  const sealed = fs.readFileSync(orig);
  sealed[sealed.length - 100] ^= 0xff;
  fs.writeFileSync(orig, sealed);
  assert.throws(() => store.readPixels(a.imageId), (e: unknown) => e instanceof AppError && e.code === 'PIXELS_MISSING');
  store.close();
});
