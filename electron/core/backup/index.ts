// Backup and restore of a whole case store (database, images, originals) as one archive file.
//
// A backup is taken while the app goes on working: the database is copied in one read transaction (VACUUM INTO,
// encrypted with the store's key), and the blobs that copy refers to are added as stored (already encrypted;
// blobs are immutable and written before the rows that name them, so every one the copy names exists).
// The archive (`.cxrbak`):
//   "CXRBAK01" | entry bytes... | manifest JSON | manifest length (u32 LE) | SHA-256 of all bytes before it | "CXREND01"
// The manifest lists each entry with its size and SHA-256; a portable copy of the key file (its passphrase
// protector only, never the plain key) lets a restore on another station open it with the recovery passphrase.
//
// A restore checks everything before replacing anything: the archive's checksums, then a full store built in a
// staging folder (database integrity, migrations, every blob decrypted and checked against its hash), and only then
// swaps it in (../store/swap.ts), keeping the replaced store in a `before-restore-...` folder.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import { CaseStore, asDiskFull, latestVersion, referencedBlobsIn, sha256, type BlobRef } from '../store/index';
import { openEncryptedDatabase } from '../store/encryption';
import { completePendingSwap, schedulePendingSwap, storeParts } from '../store/swap';
import { DataKey, portableKeyFile, readKeyFile, unlockKeyFile, writeKeyFile, type KeyAccess, type KeyFileJson } from '../crypto/index';

const HEAD = Buffer.from('CXRBAK01');
const TAIL = Buffer.from('CXREND01');
const TRAILER_BYTES = 4 + 32 + TAIL.length;
export const BACKUP_EXTENSION = '.cxrbak';

export interface BackupManifest {
  format: 'cxr-backup';
  version: 1;
  createdAt: string;
  app: { name: string; version: string };
  schemaVersion: number;
  keyId: string;
  cases: number;
  images: number;
  /** the key file with its passphrase protector only; null where no recovery passphrase is set */
  portableKey: KeyFileJson | null;
  entries: { name: string; size: number; sha256: string }[];
}

export interface BackupSummary {
  path: string;
  createdAt: string;
  bytes: number;
  cases: number;
  images: number;
  /** whether the backup can be restored on another station (a recovery passphrase was set when it was made) */
  portable: boolean;
}

/** A file name for a backup made now: `cxr-backup-2026-11-28T14-05-00Z.cxrbak`. */
export function backupFileName(now = new Date()): string {
  return `cxr-backup-${now.toISOString().slice(0, 19).replace(/:/g, '-')}Z${BACKUP_EXTENSION}`;
}

function invalid(message: string): AppError {
  return new AppError('BACKUP_INVALID', message);
}

/**
 * Write a backup of `store` to `outFile` (a folder: a new dated file in it). The archive is written under a
 * temporary name, flushed and renamed: a full disk or a crash never leaves a half archive under the final name.
 */
export async function createBackup(store: CaseStore, outFile: string, app: { name: string; version: string }): Promise<BackupSummary> {
  let target = path.resolve(outFile);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) target = path.join(target, backupFileName());
  if (fs.existsSync(target)) throw new AppError('BAD_REQUEST', `${target} already exists; choose a new file name.`);
  if (!fs.existsSync(path.dirname(target))) throw new AppError('BAD_REQUEST', `The folder ${path.dirname(target)} does not exist.`);
  const work = fs.mkdtempSync(path.join(path.dirname(store.dbPath), '.backup-'));
  const partial = `${target}.partial-${randomBytes(3).toString('hex')}`;
  let fd: number | null = null;
  try {
    const snap = path.join(work, 'db');
    store.snapshotDatabase(snap);
    // What the snapshot refers to, read from the snapshot itself (not the live database, which may have moved on).
    const snapDb = openEncryptedDatabase(snap, store.dataKey());
    let blobs: BlobRef[];
    let cases: number;
    let images: number;
    let schemaVersion: number;
    try {
      blobs = referencedBlobsIn(snapDb);
      cases = snapDb.prepare('SELECT count(*) FROM studies').pluck().get() as number;
      images = snapDb.prepare('SELECT count(*) FROM images').pluck().get() as number;
      schemaVersion = snapDb.pragma('user_version', { simple: true }) as number;
    } finally {
      snapDb.close();
    }

    fd = fs.openSync(partial, 'w', 0o600);
    const whole = createHash('sha256');
    const write = (b: Buffer) => {
      whole.update(b);
      let at = 0;
      while (at < b.length) at += fs.writeSync(fd!, b, at, b.length - at);
    };
    write(HEAD);
    const entries: BackupManifest['entries'] = [];
    const addFile = (name: string, file: string) => {
      const bytes = fs.readFileSync(file);
      entries.push({ name, size: bytes.length, sha256: sha256(bytes) });
      write(bytes);
    };
    addFile('db', snap);
    for (const b of blobs) {
      const file = store.sealedBlobFile(b.kind, b.sha256);
      if (!fs.existsSync(file)) throw new AppError('PIXELS_MISSING', `The ${b.kind} file of an image is missing from the store (${file}); the backup was not made. Run a check of the data folder.`);
      addFile(`${b.kind}/${b.sha256}`, file);
    }
    const manifest: BackupManifest = {
      format: 'cxr-backup',
      version: 1,
      createdAt: new Date().toISOString(),
      app,
      schemaVersion,
      keyId: store.keyId,
      cases,
      images,
      portableKey: portableKeyFile(store.keyPath),
      entries,
    };
    const m = Buffer.from(JSON.stringify(manifest));
    write(m);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(m.length);
    write(len);
    const digest = whole.digest();
    let at = 0;
    const tail = Buffer.concat([digest, TAIL]);
    while (at < tail.length) at += fs.writeSync(fd, tail, at, tail.length - at);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(partial, target);
    return { path: target, createdAt: manifest.createdAt, bytes: fs.statSync(target).size, cases, images, portable: manifest.portableKey !== null };
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(partial, { force: true });
    throw asDiskFull(e, 'the backup');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Read and check an archive's framing and whole-file checksum; returns its manifest and where entries start. */
export function readBackup(file: string): { manifest: BackupManifest; entryOffsets: number[] } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new AppError('FILE_UNREADABLE', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < HEAD.length + TRAILER_BYTES) throw invalid(`${path.basename(file)} is not a CXR backup (too short).`);
    const head = Buffer.alloc(HEAD.length);
    fs.readSync(fd, head, 0, head.length, 0);
    if (!head.equals(HEAD)) throw invalid(`${path.basename(file)} is not a CXR backup.`);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    fs.readSync(fd, trailer, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    if (!trailer.subarray(36).equals(TAIL)) throw invalid(`${path.basename(file)} is incomplete (its end is missing: a copy cut short?).`);
    const mLen = trailer.readUInt32LE(0);
    const bodyEnd = size - TRAILER_BYTES; // manifest ends here
    if (mLen > bodyEnd - HEAD.length) throw invalid(`${path.basename(file)} is damaged (manifest length).`);
    // the whole-file checksum, streamed
    const h = createHash('sha256');
    const chunk = Buffer.alloc(1 << 20);
    for (let at = 0; at < bodyEnd + 4; ) {
      const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, bodyEnd + 4 - at), at);
      if (n <= 0) throw invalid(`${path.basename(file)} could not be read to its end.`);
      h.update(chunk.subarray(0, n));
      at += n;
    }
    if (!h.digest().equals(trailer.subarray(4, 36))) throw invalid(`${path.basename(file)} is damaged: its checksum does not match (the file changed after it was written).`);
    const mBytes = Buffer.alloc(mLen);
    fs.readSync(fd, mBytes, 0, mLen, bodyEnd - mLen);
    let manifest: BackupManifest;
    try {
      manifest = JSON.parse(mBytes.toString('utf8')) as BackupManifest;
    } catch {
      throw invalid(`${path.basename(file)} is damaged (manifest).`);
    }
    if (manifest.format !== 'cxr-backup' || manifest.version !== 1 || !Array.isArray(manifest.entries)) throw invalid(`${path.basename(file)} is a backup format this app does not know.`);
    const offsets: number[] = [];
    let at = HEAD.length;
    for (const e of manifest.entries) {
      offsets.push(at);
      at += e.size;
    }
    if (at !== bodyEnd - mLen) throw invalid(`${path.basename(file)} is damaged (entry sizes do not add up).`);
    if (manifest.entries[0]?.name !== 'db') throw invalid(`${path.basename(file)} holds no database.`);
    return { manifest, entryOffsets: offsets };
  } finally {
    fs.closeSync(fd);
  }
}

/** A backup's summary without restoring it (for the list in the settings page). */
export function describeBackup(file: string): BackupSummary {
  const { manifest } = readBackup(file);
  return { path: path.resolve(file), createdAt: manifest.createdAt, bytes: fs.statSync(file).size, cases: manifest.cases, images: manifest.images, portable: manifest.portableKey !== null };
}

/** The backups in a folder, newest first; files that are not valid backups are skipped. */
export function listBackups(folder: string): BackupSummary[] {
  if (!fs.existsSync(folder)) return [];
  const out: BackupSummary[] = [];
  for (const name of fs.readdirSync(folder)) {
    if (!name.endsWith(BACKUP_EXTENSION)) continue;
    try {
      out.push(describeBackup(path.join(folder, name)));
    } catch {
      // a damaged or partial file is not offered for restore
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export interface RestorePlan {
  /** the restored store, checked and waiting in its staging folder */
  staging: string;
  summary: BackupSummary;
}

/**
 * Build and check the store held by `file` in a staging folder beside `dbPath`, without touching the current store.
 * `access` unlocks the current key (same key: nothing else needed) or the backup's own (recovery passphrase).
 */
export function stageRestore(file: string, dbPath: string, access: KeyAccess = {}): RestorePlan {
  dbPath = path.resolve(dbPath);
  const { manifest, entryOffsets } = readBackup(file);
  if (manifest.schemaVersion > latestVersion()) {
    throw new AppError('DB_NEWER_THAN_APP', `This backup was made by a newer version of CXR Workstation (schema ${manifest.schemaVersion}); install that version to restore it. Nothing was changed.`);
  }
  // The key: the station's own if the backup was made with it, else the backup's passphrase-protected copy.
  let key: DataKey | null = null;
  let keyFile: KeyFileJson | null = null;
  const current = readKeyFile(`${dbPath}.key`);
  if (current && current.keyId === manifest.keyId) {
    key = unlockKeyFile(current, access);
    keyFile = current;
  }
  if (!key && manifest.portableKey) {
    key = unlockKeyFile(manifest.portableKey, access);
    keyFile = manifest.portableKey;
  }
  if (!key || !keyFile) {
    throw new AppError(
      'DB_KEY_UNAVAILABLE',
      manifest.portableKey
        ? 'This backup was made with another station\'s key: give the recovery passphrase that was set there (CXR_PASSPHRASE). Nothing was changed.'
        : 'This backup was made with another station\'s key and no recovery passphrase was set there, so it cannot be opened here. Nothing was changed.',
    );
  }

  const parts = storeParts(dbPath);
  const staging = fs.mkdtempSync(path.join(path.dirname(dbPath), '.restore-'));
  try {
    const fd = fs.openSync(file, 'r');
    try {
      manifest.entries.forEach((e, i) => {
        const bytes = Buffer.alloc(e.size);
        if (fs.readSync(fd, bytes, 0, e.size, entryOffsets[i]) !== e.size) throw invalid(`${path.basename(file)} could not be read (${e.name}).`);
        if (sha256(bytes) !== e.sha256) throw invalid(`${path.basename(file)} is damaged: ${e.name} does not match its checksum.`);
        let out: string;
        if (e.name === 'db') out = path.join(staging, parts.db);
        else {
          const m = /^(pixels|originals)\/([0-9a-f]{64})$/.exec(e.name);
          if (!m) throw invalid(`${path.basename(file)} holds an unexpected entry ${JSON.stringify(e.name).slice(0, 80)}.`);
          const name = key!.blobName(m[1], m[2]);
          out = path.join(staging, parts.blobs, m[1], name.slice(0, 2), name);
          fs.mkdirSync(path.dirname(out), { recursive: true });
        }
        fs.writeFileSync(out, bytes, { mode: 0o600 });
      });
    } finally {
      fs.closeSync(fd);
    }
    // the key file for the restored store: the same key, with what this station can use to protect it
    writeKeyFile(path.join(staging, parts.key), keyFile);
    const staged = CaseStore.open(path.join(staging, parts.db), { key: { ...access } });
    try {
      const ok = staged.db.pragma('integrity_check', { simple: true });
      if (ok !== 'ok') throw invalid(`The database in ${path.basename(file)} fails its integrity check (${String(ok)}).`);
      for (const b of staged.referencedBlobs()) {
        const plain = staged.readBlob(b.kind, b.sha256);
        if (sha256(plain) !== b.sha256) throw invalid(`${path.basename(file)}: the ${b.kind} file ${b.sha256.slice(0, 12)}… does not match its hash.`);
      }
      staged.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      staged.close();
    }
    for (const f of [`${parts.db}-wal`, `${parts.db}-shm`]) fs.rmSync(path.join(staging, f), { force: true });
    return { staging, summary: { path: path.resolve(file), createdAt: manifest.createdAt, bytes: fs.statSync(file).size, cases: manifest.cases, images: manifest.images, portable: manifest.portableKey !== null } };
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (e instanceof AppError && (e.code === 'PIXELS_MISSING' || e.code === 'DB_KEY_UNAVAILABLE' || e.code === 'DB_OPEN_FAILED')) {
      throw invalid(`${path.basename(file)} cannot be restored: ${e.message}`);
    }
    throw asDiskFull(e, 'the restored copy');
  }
}

/**
 * Restore `file` over the store at `dbPath`. `when: 'now'` swaps at once (the store must not be open: the CLI with
 * the app stopped); `'next-start'` leaves the checked store staged and the swap to the next CaseStore.open (the
 * running app, which then restarts). Returns where the replaced store is kept.
 */
export function restoreBackup(file: string, dbPath: string, access: KeyAccess, when: 'now' | 'next-start'): { summary: BackupSummary; previous: string; applied: boolean } {
  const plan = stageRestore(file, dbPath, access);
  const previous = schedulePendingSwap(path.resolve(dbPath), plan.staging);
  if (when === 'now') completePendingSwap(path.resolve(dbPath));
  return { summary: plan.summary, previous, applied: when === 'now' };
}
