// Backup and restore of the whole store: round trip, a backup taken while another process writes, damaged archives
// refused with the store untouched, another station's backup, and a swap cut short by a crash.
// Run: node --import tsx --test electron/core/backup/backup.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import { CaseStore, keyFileFor } from '../store/index';
import { importBytes } from '../importing/index';
import { saveAnnotationVersion, loadAnnotations } from '../annotations/index';
import { setRecoveryPassphrase } from '../crypto/index';
import { pendingMarkerFor } from '../store/swap';
import { AppError } from '../errors';
import { createBackup, describeBackup, listBackups, readBackup, restoreBackup, stageRestore } from './index';
import { repoRoot, tempDir } from '../../testing/index';
import { makeDicom, testImage } from '../imaging/testFixtures';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;
const APP = { name: 'CXR Workstation', version: 'test' };

function png(n: number, size = 64): Uint8Array {
  const img = new PNG({ width: size, height: size, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let i = 0; i < size * size; i++) img.data[i] = (i * (n + 3) + n * 31) & 255;
  return new Uint8Array(PNG.sync.write(img, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}

/** n images: PNGs, and the last one an uncompressed DICOM (its pixels are read from the original file). */
async function storeWith(n: number, dir = tempDir()): Promise<{ store: CaseStore; ids: number[] }> {
  const store = CaseStore.open(path.join(dir, 'cxr.sqlite'));
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const dicom = i === n - 1 && n > 1;
    const file = dicom ? makeDicom({ rows: 48, columns: 40, bitsStored: 12, pixels: testImage(48, 40, 12, i) }) : png(i);
    const r = await importBytes(store, file, dicom ? `img${i}.dcm` : `img${i}.png`);
    assert.equal(r.status, 'imported');
    ids.push(r.imageId);
  }
  return { store, ids };
}

function snapshot(store: CaseStore): unknown {
  return {
    cases: store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'asc' }, filter: {}, offset: 0, limit: 1000 }).rows.map((r) => [r.caseId, r.patientId, r.description]),
    pixels: (store.db.prepare('SELECT id FROM images ORDER BY id').pluck().all() as number[]).map((id) => Buffer.from(store.readPixels(id)).toString('base64').slice(0, 64)),
    versions: store.db.prepare('SELECT image_ref, version, author FROM annotation_versions ORDER BY id').all(),
  };
}

const rejectsCode = (fn: () => unknown, code: string, re?: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === code && (!re || re.test(e.message)), `expected ${code}`);

test('backup, then restore: the store is back as it was at the backup, and the replaced one is kept', async () => {
  const { store, ids } = await storeWith(3);
  saveAnnotationVersion(store.db, ids[0], { author: 'dr.a', baseVersion: 0, findings: [], masks: [] });
  const before = snapshot(store);
  const out = tempDir('cxr-backups-');
  const b = await createBackup(store, out, APP);
  assert.match(path.basename(b.path), /^cxr-backup-.*\.cxrbak$/);
  assert.equal(b.cases, 3);
  assert.equal(b.images, 3);
  assert.deepEqual(listBackups(out).map((x) => x.path), [b.path]);
  assert.equal(fs.readFileSync(b.path).indexOf('img0.png'), -1, 'the archive holds no patient data in the clear');

  // life goes on after the backup
  await importBytes(store, png(50), 'later.png');
  saveAnnotationVersion(store.db, ids[0], { author: 'dr.b', baseVersion: 1, findings: [], masks: [] });
  const dbPath = store.dbPath;
  store.close();

  const r = restoreBackup(b.path, dbPath, {}, 'now');
  assert.equal(r.applied, true);
  const restored = CaseStore.open(dbPath);
  assert.deepEqual(snapshot(restored), before);
  assert.equal(loadAnnotations(restored.db, ids[0]).author, 'dr.a');
  assert.equal(restored.sweepOrphanBlobs().removed, 0);
  restored.close();
  // the replaced store, whole, in its before-restore folder
  const previous = CaseStore.open(path.join(r.previous, 'cxr.sqlite'));
  assert.equal(previous.countCases(), 4);
  previous.close();
});

test('a restore staged by the running app is applied at the next start', async () => {
  const { store } = await storeWith(2);
  const b = await createBackup(store, path.join(tempDir(), 'one.cxrbak'), APP);
  await importBytes(store, png(9), 'extra.png');
  // the app stages while its store is open; nothing changes until it restarts
  const r = restoreBackup(b.path, store.dbPath, {}, 'next-start');
  assert.equal(r.applied, false);
  assert.equal(store.countCases(), 3);
  const dbPath = store.dbPath;
  store.close();
  const reopened = CaseStore.open(dbPath);
  assert.equal(reopened.countCases(), 2);
  assert.ok(!fs.existsSync(pendingMarkerFor(dbPath)));
  reopened.close();
});

test('a swap cut short by a crash is finished at the next open; the store is never a mixture', async () => {
  const { store } = await storeWith(2);
  const b = await createBackup(store, path.join(tempDir(), 'two.cxrbak'), APP);
  for (let i = 0; i < 3; i++) await importBytes(store, png(20 + i), `x${i}.png`);
  const dbPath = store.dbPath;
  store.close();
  const outcomes = new Set<number>();
  for (let failAt = 1; failAt <= 9; failAt++) {
    const rename = fs.renameSync;
    let n = 0;
    fs.renameSync = ((a: fs.PathLike, c: fs.PathLike) => {
      // count only the swap's moves (not the marker's own write)
      if (!String(a).endsWith('.tmp') && ++n === failAt) throw Object.assign(new Error('power cut'), { code: 'EIO' });
      return rename(a, c);
    }) as typeof fs.renameSync;
    try {
      restoreBackup(b.path, dbPath, {}, 'now'); // past the last move, the restore simply completes
    } catch (e) {
      assert.match((e as Error).message, /power cut/);
    } finally {
      fs.renameSync = rename;
    }
    // the old store (5 cases: cut while staging) or the restored one (2: cut during the swap, finished now)
    const s = CaseStore.open(dbPath);
    assert.ok([2, 5].includes(s.countCases()), `cut at move ${failAt}: ${s.countCases()} cases`);
    outcomes.add(s.countCases());
    assert.equal(s.db.pragma('integrity_check', { simple: true }), 'ok');
    for (const id of s.db.prepare('SELECT id FROM images').pluck().all() as number[]) s.readPixels(id);
    // put the 5-case store back for the next round
    for (let i = 0; i < 3; i++) await importBytes(s, png(20 + i), `x${i}.png`);
    s.close();
  }
  assert.deepEqual([...outcomes].sort(), [2, 5], 'cuts both before and during the swap were exercised');
});

test('a damaged, truncated or foreign file is refused before anything is replaced', async () => {
  const { store } = await storeWith(2);
  const b = await createBackup(store, path.join(tempDir(), 'good.cxrbak'), APP);
  const dbPath = store.dbPath;
  store.close();
  const dbBefore = fs.readFileSync(dbPath);
  const good = fs.readFileSync(b.path);
  const dir = tempDir();
  const variants: [string, Buffer, RegExp][] = [
    ['flipped.cxrbak', Buffer.from(good).fill(0x55, good.length >> 1, (good.length >> 1) + 1), /checksum does not match/],
    ['cut.cxrbak', good.subarray(0, good.length - 100), /incomplete|damaged/],
    ['empty.cxrbak', Buffer.alloc(0), /not a CXR backup/],
    ['notes.cxrbak', Buffer.from('these are not the files you are looking for\n'.repeat(10)), /not a CXR backup/],
  ];
  for (const [name, bytes, re] of variants) {
    fs.writeFileSync(path.join(dir, name), bytes);
    rejectsCode(() => restoreBackup(path.join(dir, name), dbPath, {}, 'now'), 'BACKUP_INVALID', re);
  }
  // an archive whose framing checks out but whose entry was altered (checksums recomputed by an attacker without the key)
  const { manifest, entryOffsets } = readBackup(b.path);
  const forged = Buffer.from(good);
  const blob = manifest.entries.findIndex((e) => e.name.startsWith('pixels/'));
  forged[entryOffsets[blob] + 40] ^= 0xff;
  const mStart = good.length - 44 - Buffer.from(JSON.stringify(manifest)).length;
  const { createHash } = await import('node:crypto');
  const m2 = { ...manifest, entries: manifest.entries.map((e, i) => (i === blob ? { ...e, sha256: createHash('sha256').update(forged.subarray(entryOffsets[i], entryOffsets[i] + e.size)).digest('hex') } : e)) };
  const mBytes = Buffer.from(JSON.stringify(m2));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(mBytes.length);
  const body = Buffer.concat([forged.subarray(0, mStart), mBytes, len]);
  fs.writeFileSync(path.join(dir, 'forged.cxrbak'), Buffer.concat([body, createHash('sha256').update(body).digest(), Buffer.from('CXREND01')]));
  rejectsCode(() => restoreBackup(path.join(dir, 'forged.cxrbak'), dbPath, {}, 'now'), 'BACKUP_INVALID', /authentication/);
  assert.deepEqual(fs.readFileSync(dbPath), dbBefore, 'the store was not touched');
  assert.deepEqual(fs.readdirSync(path.dirname(dbPath)).filter((f) => f.startsWith('.restore-') || f.startsWith('before-restore')), [], 'no staging left behind');
  // damaged files are not offered; the forged one's framing is right, and its damage shows when it is restored
  assert.deepEqual(listBackups(dir).map((x) => path.basename(x.path)), ['forged.cxrbak']);
  rejectsCode(() => describeBackup(path.join(dir, 'cut.cxrbak')), 'BACKUP_INVALID');
});

test('another station\'s backup opens with its recovery passphrase, and only with it', async () => {
  const { store } = await storeWith(2);
  setRecoveryPassphrase(store.keyPath, store.dataKey(), 'station one recovery phrase', {});
  const b = await createBackup(store, path.join(tempDir(), 'portable.cxrbak'), APP);
  assert.equal(b.portable, true);
  assert.doesNotMatch(JSON.stringify(readBackup(b.path).manifest.portableKey), /"file"/, 'the plain key never goes into a backup');
  store.close();

  const other = CaseStore.open(path.join(tempDir(), 'cxr.sqlite'));
  const otherPath = other.dbPath;
  other.close();
  rejectsCode(() => stageRestore(b.path, otherPath, {}), 'DB_KEY_UNAVAILABLE', /recovery passphrase/);
  rejectsCode(() => stageRestore(b.path, otherPath, { passphrase: 'wrong guess at the phrase' }), 'DB_KEY_UNAVAILABLE');
  restoreBackup(b.path, otherPath, { passphrase: 'station one recovery phrase' }, 'now');
  const restored = CaseStore.open(otherPath, { key: { passphrase: 'station one recovery phrase' } });
  assert.equal(restored.countCases(), 2);
  restored.close();
  // and after that the station opens it without the passphrase again (its own plain key file protector)
  const again = CaseStore.open(otherPath);
  assert.equal(again.countCases(), 2);
  again.close();
  assert.ok(fs.existsSync(keyFileFor(otherPath)));
});

test('a backup taken while another process imports and edits is consistent', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const dbPath = path.join(dir, 'cxr.sqlite');
  CaseStore.open(dbPath).close();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'electron/testing/store-worker.ts'), dbPath, '7'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let acks: string[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    acks = acks.concat(lines.filter((l) => l.startsWith('ack ')));
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    while (acks.length < 10) {
      if (child.exitCode !== null) throw new Error(`worker stopped: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const store = CaseStore.open(dbPath);
    const out = tempDir('cxr-backups-');
    const made: { file: string; ackedImports: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const ackedImports = acks.filter((a) => a.startsWith('ack import')).length;
      const b = await createBackup(store, path.join(out, `b${i}.cxrbak`), APP);
      made.push({ file: b.path, ackedImports });
      await new Promise((r) => setTimeout(r, 150));
    }
    store.close();
    assert.equal(child.exitCode, null, `the writer kept going: ${stderr}`);
    for (const m of made) {
      const target = path.join(tempDir(), 'cxr.sqlite');
      fs.copyFileSync(keyFileFor(dbPath), keyFileFor(target)); // the same station's key
      // stageRestore checks integrity and decrypts and hashes every image the copy refers to
      restoreBackup(m.file, target, {}, 'now');
      const s = CaseStore.open(target);
      assert.ok((s.db.prepare('SELECT count(*) FROM images').pluck().get() as number) >= m.ackedImports, 'every import acknowledged before the backup began is in it');
      assert.equal((s.db.pragma('foreign_key_check') as unknown[]).length, 0);
      s.close();
    }
  } finally {
    child.kill('SIGKILL');
  }
});

test('work folders left by an interrupted backup or restore are removed once stale, fresh ones are left alone', async () => {
  const { sweepStaleWork } = await import('../store/swap');
  const { store } = await storeWith(1);
  const dir = path.dirname(store.dbPath);
  const old = path.join(dir, '.restore-old');
  const fresh = path.join(dir, '.backup-fresh');
  fs.mkdirSync(old);
  fs.mkdirSync(fresh);
  const dayAgo = new Date(Date.now() - 25 * 3600 * 1000);
  fs.utimesSync(old, dayAgo, dayAgo);
  assert.equal(sweepStaleWork(store.dbPath), 1);
  assert.ok(!fs.existsSync(old));
  assert.ok(fs.existsSync(fresh));
  // a second restore staged before the restart replaces the first one's staging
  const b = await createBackup(store, path.join(tempDir(), 'b.cxrbak'), APP);
  restoreBackup(b.path, store.dbPath, {}, 'next-start');
  restoreBackup(b.path, store.dbPath, {}, 'next-start');
  assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('.restore-')).length, 1);
  store.close();
});
