// A full disk during import or save: a clear DISK_FULL error, nothing already stored lost, and the station works
// again once space is freed. Three ways: ENOSPC injected in the blob writer (the test seam), SQLite's SQLITE_FULL
// (max_page_count), and a real 3 MB tmpfs filled to the brim (Linux as root; skipped with the reason otherwise).
// Run: node --import tsx --test electron/core/store/disk-full.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import { CaseStore, blobDirFor, sha256 } from './index';
import { importBytes } from '../importing/index';
import { saveAnnotationVersion, loadAnnotations } from '../annotations/index';
import { AppError, toErrorInfo } from '../errors';
import { tempDbPath, tempDir } from '../../testing/index';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;

function png(n: number, size = 96): Uint8Array {
  const img = new PNG({ width: size, height: size, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let i = 0; i < size * size; i++) img.data[i] = (i * 7 + n * 13 + ((i * n) % 11)) & 255;
  return new Uint8Array(PNG.sync.write(img, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}

const isDiskFull = (e: unknown) => e instanceof AppError && e.code === 'DISK_FULL' && /full/.test(e.message) && /intact|not saved/.test(e.message);

function stored(store: CaseStore): Map<number, string> {
  const out = new Map<number, string>();
  for (const id of store.db.prepare('SELECT id FROM images ORDER BY id').pluck().all() as number[]) out.set(id, sha256(store.readPixels(id)));
  return out;
}

test('ENOSPC while writing an image file: DISK_FULL, no half file, earlier images intact, works once space is back', async () => {
  let full = false;
  let written = 0;
  const store = CaseStore.open(tempDbPath(), {
    blobWrite: (fd, b, o, l) => {
      // a disk that fills part-way through the file: some bytes land, then ENOSPC
      if (full && written > 3000) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      const n = fs.writeSync(fd, b, o, Math.min(l, 4096));
      written += n;
      return n;
    },
  });
  for (let i = 0; i < 3; i++) assert.equal((await importBytes(store, png(i), `ok${i}.png`)).status, 'imported');
  const before = stored(store);
  full = true;
  written = 0;
  await assert.rejects(importBytes(store, png(10), 'full.png'), isDiskFull);
  assert.deepEqual(stored(store), before, 'nothing stored before was changed');
  assert.deepEqual(fs.readdirSync(path.join(blobDirFor(store.dbPath), 'tmp')), [], 'the half-written file was removed');
  assert.equal(store.countCases(), 3);
  full = false;
  assert.equal((await importBytes(store, png(10), 'full.png')).status, 'imported', 'the same file imports once space is back');
  store.close();
});

test('SQLITE_FULL while committing an import or an annotation save: DISK_FULL, and the earlier rows intact', async () => {
  const store = CaseStore.open(tempDbPath());
  const first = await importBytes(store, png(1), 'one.png');
  assert.equal(first.status, 'imported');
  const imageId = first.status === 'imported' ? first.imageId : 0;
  saveAnnotationVersion(store.db, imageId, { author: 'dr.a', baseVersion: 0, findings: [], masks: [] });
  const before = stored(store);
  // the database may not grow any more: the next page it needs fails with SQLITE_FULL
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  store.db.pragma(`max_page_count = ${pages}`);
  let failures = 0;
  for (let i = 0; i < 30; i++) {
    try {
      await importBytes(store, png(100 + i, 64), `more${i}.png`);
    } catch (e) {
      assert.ok(isDiskFull(e), `expected DISK_FULL, got ${String(e)}`);
      failures++;
      break;
    }
  }
  assert.equal(failures, 1, 'the database filled up');
  // An annotation save reaches the user through the transport's error mapping.
  const packed = new Uint8Array(Math.ceil((96 * 96) / 8)).fill(0x5a);
  let saveError: unknown = null;
  for (let v = 1; v < 50 && !saveError; v++) {
    try {
      saveAnnotationVersion(store.db, imageId, { author: 'dr.a', baseVersion: v, findings: [], masks: [{ id: `m${v}`, label: 'lesion', source: 'user', width: 96, height: 96, packed: packed.map((x) => x ^ v) }] });
    } catch (e) {
      saveError = e;
    }
  }
  assert.ok(saveError, 'an annotation save hit the limit');
  assert.equal(toErrorInfo(saveError).code, 'DISK_FULL');
  assert.match(toErrorInfo(saveError).message, /disk is full/);
  store.db.pragma('max_page_count = 1073741823');
  for (const [id, h] of before) assert.equal(sha256(store.readPixels(id)), h);
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  assert.ok(loadAnnotations(store.db, imageId).version >= 1);
  store.close();
});

function mountTmpfs(dir: string, size: string): string | null {
  if (process.platform !== 'linux') return 'tmpfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `mount -t tmpfs is not permitted here (${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0]})`;
  }
}

const tmpfsDir = tempDir('cxr-tmpfs-');
const tmpfsSkip = mountTmpfs(tmpfsDir, '3m');
test('a real full disk (3 MB tmpfs): imports and saves until full, then DISK_FULL; everything before it survives a restart', { skip: tmpfsSkip ?? false }, async () => {
  let store: CaseStore | null = null;
  try {
    const dbPath = path.join(tmpfsDir, 'cxr.sqlite');
    // other files on the same disk, which the "IT person" deletes to free space afterwards
    const filler = path.join(tmpfsDir, 'other-files.bin');
    fs.writeFileSync(filler, Buffer.alloc(700 * 1024, 1));
    store = CaseStore.open(dbPath);
    const ok = new Map<number, string>();
    let fullAt = -1;
    let lastVersion = 0;
    let firstImage = 0;
    for (let i = 0; i < 400 && fullAt < 0; i++) {
      try {
        const r = await importBytes(store, png(i, 128), `img${i}.png`);
        if (r.status === 'imported') {
          ok.set(r.imageId, sha256(store.readPixels(r.imageId)));
          firstImage ||= r.imageId;
        }
        lastVersion = saveAnnotationVersion(store.db, firstImage, { author: 'dr.a', baseVersion: lastVersion, findings: [], masks: [] }).version;
      } catch (e) {
        assert.ok(isDiskFull(e) || toErrorInfo(e).code === 'DISK_FULL', `expected DISK_FULL, got ${String((e as Error).stack ?? e)}`);
        fullAt = i;
      }
    }
    assert.ok(fullAt > 0, 'the disk filled up');
    assert.ok(ok.size > 3);
    // the app restarts on the full disk: everything acknowledged is there
    store.close();
    store = CaseStore.open(dbPath);
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    for (const [id, h] of ok) assert.equal(sha256(store.readPixels(id)), h, `image ${id}`);
    assert.ok(loadAnnotations(store.db, firstImage).version >= lastVersion);
    // space is freed on the disk; the station works again
    fs.rmSync(filler);
    assert.equal((await importBytes(store, png(9999, 64), 'after.png')).status, 'imported');
    store.close();
  } finally {
    store?.close();
    execFileSync('umount', ['--lazy', tmpfsDir]);
  }
});
