// Data at rest: what lies on disk is ciphertext, the key file's protectors, and the conversion of a store written
// before encryption. Run: node --import tsx --test electron/core/store/encryption.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { CaseStore, blobDirFor, keyFileFor, runMigrations, sha256, type NewImageRecord } from './index';
import { AppError } from '../errors';
import { protectionStatus, setRecoveryPassphrase, type KeyWrapper } from '../crypto/index';
import { tempDbPath } from '../../testing/index';

function record(i: number, px: Uint8Array, name = `SECRET^PATIENT${i}`): NewImageRecord {
  return {
    patient: { patientId: `PID-${i}`, patientName: name, birthDate: '19700101', sex: 'F' },
    study: { studyInstanceUid: `1.2.${i}`, studyDate: '20240101', studyTime: null, accessionNumber: `ACC${i}`, description: 'CHEST PA' },
    series: { seriesInstanceUid: `1.2.${i}.1`, modality: 'CR', bodyPart: 'CHEST', viewPosition: 'PA', seriesNumber: 1, description: null },
    image: {
      sopInstanceUid: `1.2.${i}.1.1`, sopClassUid: null, rows: 2, columns: px.length / 4, bitsStored: 12, photometric: 'MONOCHROME2',
      rescaleSlope: 1, rescaleIntercept: 0, pixelSpacing: null, minPixel: 0, maxPixel: 4095, windows: [],
      pixelSha256: sha256(px), sourceName: `x${i}.dcm`, sourceSha256: sha256(Buffer.concat([Buffer.from('orig'), px])), sourceFormat: 'dicom', transferSyntax: null,
    },
  };
}

const pattern = (i: number) => new Uint8Array(Buffer.from(`PIXELPATTERN-${String(i).padStart(4, '0')}-`.repeat(8).slice(0, 64)));

/** A stand-in for Electron's safeStorage (not available outside Electron): a real AES-GCM wrap under a held key. */
function fakeOsStore(): KeyWrapper {
  const k = randomBytes(32);
  return {
    name: 'test keyring',
    wrap(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', k, iv);
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    unwrap(w) {
      const d = createDecipheriv('aes-256-gcm', k, w.subarray(0, 12));
      d.setAuthTag(w.subarray(12, 28));
      return Buffer.concat([d.update(w.subarray(28)), d.final()]);
    },
  };
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

test('the database, its WAL and the blob files hold no patient data in the clear', () => {
  const p = tempDbPath();
  const store = CaseStore.open(p);
  for (let i = 0; i < 5; i++) {
    const px = pattern(i);
    store.putBlob('pixels', sha256(px), px);
    store.insertImage(record(i, px));
  }
  const files = [p, `${p}-wal`, ...filesUnder(blobDirFor(p))].filter((f) => fs.existsSync(f));
  assert.ok(files.length >= 6);
  for (const f of files) {
    const bytes = fs.readFileSync(f);
    assert.equal(bytes.indexOf('SECRET^PATIENT'), -1, `${f} holds a patient name in the clear`);
    assert.equal(bytes.indexOf('PIXELPATTERN'), -1, `${f} holds pixel data in the clear`);
    assert.equal(bytes.indexOf('SQLite format 3'), -1, `${f} is a plain SQLite file`);
  }
  // blob names do not reveal the images' hashes
  for (const f of filesUnder(blobDirFor(p))) assert.ok(!f.includes(sha256(pattern(0))));
  assert.equal(store.getCase(1).patientName, 'SECRET^PATIENT0');
  store.close();
  if (process.platform !== 'win32') assert.equal(fs.statSync(keyFileFor(p)).mode & 0o077, 0, 'key file readable by its owner only');
});

test('without its key file, or with another store\'s, the database does not open and is not changed', () => {
  const p = tempDbPath();
  CaseStore.open(p).close();
  const before = fs.readFileSync(p);
  const keyPath = keyFileFor(p);
  const saved = fs.readFileSync(keyPath);
  fs.rmSync(keyPath);
  assert.throws(() => CaseStore.open(p), (e: unknown) => e instanceof AppError && e.code === 'DB_KEY_UNAVAILABLE' && /key file .* is missing/.test(e.message));
  const other = tempDbPath();
  CaseStore.open(other).close();
  fs.copyFileSync(keyFileFor(other), keyPath);
  assert.throws(() => CaseStore.open(p), (e: unknown) => e instanceof AppError && e.code === 'DB_KEY_UNAVAILABLE' && /does not open with this station's key/.test(e.message));
  fs.writeFileSync(keyPath, '{ damaged');
  assert.throws(() => CaseStore.open(p), (e: unknown) => e instanceof AppError && e.code === 'DB_KEY_UNAVAILABLE' && /damaged/.test(e.message));
  assert.deepEqual(fs.readFileSync(p), before);
  fs.writeFileSync(keyPath, saved);
  CaseStore.open(p).close();
});

test('a blob moved under another image\'s name or altered fails authentication (PIXELS_MISSING)', () => {
  const store = CaseStore.open(tempDbPath());
  const a = pattern(1);
  const b = pattern(2);
  store.putBlob('pixels', sha256(a), a);
  store.putBlob('pixels', sha256(b), b);
  const ia = store.insertImage(record(1, a)).imageId;
  fs.copyFileSync(store.blobPath('pixels', sha256(b)), store.blobPath('pixels', sha256(a)));
  assert.throws(() => store.readPixels(ia), (e: unknown) => e instanceof AppError && e.code === 'PIXELS_MISSING' && /authentication/.test(e.message));
  store.close();
});

test('protectors: OS key store plus recovery passphrase drop the plain key; the passphrase opens it elsewhere', () => {
  const p = tempDbPath();
  const os = fakeOsStore();
  const s1 = CaseStore.open(p, { key: { os } });
  assert.deepEqual(protectionStatus(s1.keyPath).protectors, ['file', 'os'], 'without a recovery route the plain key stays');
  setRecoveryPassphrase(s1.keyPath, s1.dataKey(), 'correct horse battery staple', { os });
  assert.deepEqual(protectionStatus(s1.keyPath).protectors.sort(), ['os', 'passphrase']);
  assert.doesNotMatch(fs.readFileSync(s1.keyPath, 'utf8'), /"file"/);
  const px = pattern(3);
  s1.putBlob('pixels', sha256(px), px);
  const { imageId } = s1.insertImage(record(3, px));
  s1.close();

  // The CLI: no OS key store; the passphrase, or nothing.
  assert.throws(() => CaseStore.open(p), (e: unknown) => e instanceof AppError && e.code === 'DB_KEY_UNAVAILABLE' && /recovery passphrase \(CXR_PASSPHRASE\)/.test(e.message));
  assert.throws(() => CaseStore.open(p, { key: { passphrase: 'wrong horse battery staple' } }), (e: unknown) => e instanceof AppError && /was wrong/.test(e.message));
  const s2 = CaseStore.open(p, { key: { passphrase: 'correct horse battery staple' } });
  assert.deepEqual(s2.readPixels(imageId), px);
  s2.close();
  assert.deepEqual(protectionStatus(keyFileFor(p)).protectors.sort(), ['os', 'passphrase'], 'opening with the passphrase does not add a plain key');
  // The desktop app, same user: the OS store alone.
  const s3 = CaseStore.open(p, { key: { os } });
  assert.equal(s3.getCase(1).patientName, 'SECRET^PATIENT3');
  s3.close();
  // Another OS user (another wrapping key) without the passphrase: refused.
  assert.throws(() => CaseStore.open(p, { key: { os: fakeOsStore() } }), (e: unknown) => e instanceof AppError && e.code === 'DB_KEY_UNAVAILABLE');
  assert.throws(() => setRecoveryPassphrase(keyFileFor(p), s3.dataKey(), 'short', {}), (e: unknown) => e instanceof AppError && e.code === 'BAD_REQUEST');
});

/** A store as the version before encryption wrote it: plain SQLite and plain blobs named by their SHA-256. */
function legacyStore(n: number): { p: string; pixels: Uint8Array[] } {
  const p = tempDbPath();
  const db = new Database(p);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  runMigrations(db);
  const pixels: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const px = pattern(i);
    pixels.push(px);
    const r = record(i, px);
    for (const [kind, h, bytes] of [['pixels', r.image.pixelSha256, px], ['originals', r.image.sourceSha256, Buffer.concat([Buffer.from('orig'), px])]] as const) {
      const dir = path.join(blobDirFor(p), kind, h.slice(0, 2));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, h), bytes);
    }
    db.prepare(`INSERT INTO patients (patient_id, patient_name) VALUES (?, ?)`).run(r.patient.patientId, r.patient.patientName);
    db.prepare(`INSERT INTO studies (study_instance_uid, patient_ref, imported_at, patient_name, patient_id, search_text, image_count, first_image_id)
                VALUES (?, last_insert_rowid(), 'then', ?, ?, ?, 1, ?)`).run(r.study.studyInstanceUid, r.patient.patientName, r.patient.patientId, r.patient.patientName.toLowerCase(), i + 1);
    db.prepare(`INSERT INTO series (series_instance_uid, study_ref) VALUES (?, last_insert_rowid())`).run(r.series.seriesInstanceUid);
    db.prepare(`INSERT INTO images (id, sop_instance_uid, series_ref, rows, columns, bits_stored, photometric, rescale_slope, rescale_intercept, min_pixel, max_pixel,
                windows_json, pixel_sha256, source_name, source_sha256, source_format, imported_at)
                VALUES (?, ?, last_insert_rowid(), 2, ?, 12, 'MONOCHROME2', 1, 0, 0, 4095, '[]', ?, 'x.dcm', ?, 'dicom', 'then')`)
      .run(i + 1, r.image.sopInstanceUid, px.length / 4, r.image.pixelSha256, r.image.sourceSha256);
  }
  // left open-ish state: rows still in the WAL, as after a crash of the old version
  db.close();
  return { p, pixels };
}

test('a store written before encryption is converted with every case and image, and nothing stays in the clear', () => {
  const { p, pixels } = legacyStore(12);
  // an interrupted earlier attempt left a half-made copy: it is redone, not trusted
  fs.writeFileSync(`${p}.encrypting`, 'half');
  const store = CaseStore.open(p);
  assert.equal(store.countCases(), 12);
  for (let i = 0; i < pixels.length; i++) {
    assert.deepEqual(store.readPixels(i + 1), pixels[i]);
    assert.deepEqual(new Uint8Array(store.readBlob('originals', store.referencedBlobs().find((b) => b.kind === 'originals' && b.sha256 === sha256(Buffer.concat([Buffer.from('orig'), pixels[i]])))!.sha256)), new Uint8Array(Buffer.concat([Buffer.from('orig'), pixels[i]])));
  }
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  assert.ok(!fs.existsSync(`${p}.encrypting`));
  for (const f of [p, ...filesUnder(blobDirFor(p))]) {
    const bytes = fs.readFileSync(f);
    assert.equal(bytes.indexOf('SECRET^PATIENT'), -1, f);
    assert.equal(bytes.indexOf('PIXELPATTERN'), -1, f);
  }
  assert.equal(store.sweepOrphanBlobs().removed, 0, 'every converted blob is referenced');
  store.close();
  const again = CaseStore.open(p);
  assert.equal(again.countCases(), 12);
  again.close();
});

test('conversion interrupted after the blobs were sealed resumes without loss', () => {
  const { p, pixels } = legacyStore(4);
  // Simulate a crash just before the swap: run the conversion with a rename that fails once.
  const rename = fs.renameSync;
  let failed = false;
  fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
    if (!failed && String(from).endsWith('.encrypting')) {
      failed = true;
      throw Object.assign(new Error('simulated power loss'), { code: 'EIO' });
    }
    return rename(from, to);
  }) as typeof fs.renameSync;
  try {
    assert.throws(() => CaseStore.open(p), /simulated power loss|EIO/);
  } finally {
    fs.renameSync = rename;
  }
  const store = CaseStore.open(p);
  assert.equal(store.countCases(), 4);
  for (let i = 0; i < pixels.length; i++) assert.deepEqual(store.readPixels(i + 1), pixels[i]);
  store.sweepOrphanBlobs();
  for (let i = 0; i < pixels.length; i++) assert.deepEqual(store.readPixels(i + 1), pixels[i]);
  store.close();
});

test('a plain database from a newer app is refused before any key or copy is made', () => {
  const p = tempDbPath();
  const db = new Database(p);
  db.pragma('user_version = 99999');
  db.close();
  assert.throws(() => CaseStore.open(p), (e: unknown) => e instanceof AppError && e.code === 'DB_NEWER_THAN_APP');
  assert.ok(!fs.existsSync(keyFileFor(p)));
  assert.ok(!fs.existsSync(`${p}.encrypting`));
});

test('a plain store left with its WAL by a crash of the old version is converted with the rows still in the WAL', () => {
  const p = tempDbPath();
  const db = new Database(p);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0'); // keep every commit in the WAL, as after a crash before any checkpoint
  runMigrations(db);
  db.prepare(`INSERT INTO patients (patient_id, patient_name) VALUES ('P-WAL', 'IN^THE^WAL')`).run();
  // copy the files as they are while the old version still has them open (a crash leaves exactly this)
  const crashed = tempDbPath();
  for (const suffix of ['', '-wal', '-shm']) fs.copyFileSync(`${p}${suffix}`, `${crashed}${suffix}`);
  db.close();
  assert.ok(fs.statSync(`${crashed}-wal`).size > 0);
  const store = CaseStore.open(crashed);
  assert.equal(store.db.prepare(`SELECT patient_name FROM patients WHERE patient_id = 'P-WAL'`).pluck().get(), 'IN^THE^WAL');
  store.close();
  assert.equal(fs.readFileSync(crashed).indexOf('IN^THE^WAL'), -1);
});
