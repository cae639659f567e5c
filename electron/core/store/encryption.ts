// Opening the case database with its SQLCipher key, and the one-time conversion of a store written before
// encryption (plain SQLite and plain blob files) into an encrypted one without losing a row or an image.
import Database from 'better-sqlite3-multiple-ciphers';
import type { Database as Db } from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import type { DataKey } from '../crypto/index';

/**
 * Open `file` as an SQLCipher 4 database under the data key's database key. The key is set before any other
 * statement (SQLCipher requires it); the first read proves it opens the file.
 */
export function openEncryptedDatabase(file: string, key: DataKey, nativeBinding?: string): Db {
  const db = new Database(file, nativeBinding ? { nativeBinding } : {});
  try {
    // SQLCipher 4 layout (page HMAC, 4096-byte pages) so that the standard `sqlcipher` tool can also read it.
    db.pragma(`cipher = 'sqlcipher'`);
    db.pragma('legacy = 4');
    db.pragma(`key = ${key.sqlcipherKeyLiteral()}`);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new AppError(
        'DB_KEY_UNAVAILABLE',
        `${file} does not open with this station's key: it is not a CXR case database, it is damaged, or its key file belongs to another database. Restore the data folder from a backup.`,
        { cause: e },
      );
    }
    throw e;
  }
  return db as unknown as Db;
}

/** Open a plain (unencrypted) SQLite file, read-only unless asked. */
export function openPlainDatabase(file: string, nativeBinding?: string, readonly = true): Db {
  return new Database(file, { readonly, ...(nativeBinding ? { nativeBinding } : {}) }) as unknown as Db;
}

function tableCounts(db: Db): Record<string, number> {
  const names = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all() as string[];
  return Object.fromEntries(names.map((n) => [n, db.prepare(`SELECT count(*) FROM "${n.replace(/"/g, '""')}"`).pluck().get() as number]));
}

const LEGACY_BLOB_NAME = /^[0-9a-f]{64}$/;

/**
 * Convert a plain store in place. Order matters for a crash at any point:
 *  1. the plain database is copied and the copy re-keyed (`<db>.encrypting`), then checked (integrity, row counts);
 *  2. every plain blob is sealed under its new name (the plain one stays);
 *  3. the encrypted copy replaces the database in one rename;
 *  4. the plain blobs are removed.
 * Before 3 the plain store is intact and a new start redoes the work; after 3 the store is encrypted and whatever
 * plain blobs remain are unreferenced names that the orphan sweep removes.
 */
export function encryptPlainStore(
  dbPath: string,
  blobDir: string,
  key: DataKey,
  putBlob: (kind: 'pixels' | 'originals', sha256: string, bytes: Uint8Array) => void,
  nativeBinding?: string,
): { tables: Record<string, number>; blobs: number } {
  const work = `${dbPath}.encrypting`;
  for (const f of [work, `${work}-journal`, `${work}-wal`, `${work}-shm`]) fs.rmSync(f, { force: true });

  // Fold the WAL into the main file so the copy holds every committed row.
  const plain = new Database(dbPath, nativeBinding ? { nativeBinding } : {});
  let before: Record<string, number>;
  try {
    plain.pragma('wal_checkpoint(TRUNCATE)');
    before = tableCounts(plain as unknown as Db);
  } finally {
    plain.close();
  }
  fs.copyFileSync(dbPath, work);
  const enc = new Database(work, nativeBinding ? { nativeBinding } : {});
  try {
    enc.pragma('journal_mode = DELETE'); // rekey rewrites every page and cannot run in WAL mode
    enc.pragma(`cipher = 'sqlcipher'`);
    enc.pragma('legacy = 4');
    enc.pragma(`rekey = ${key.sqlcipherKeyLiteral()}`);
  } finally {
    enc.close();
  }
  const check = openEncryptedDatabase(work, key, nativeBinding);
  try {
    const ok = check.pragma('integrity_check', { simple: true });
    const after = tableCounts(check);
    if (ok !== 'ok' || JSON.stringify(after) !== JSON.stringify(before)) {
      throw new AppError('DB_OPEN_FAILED', `Encrypting the case database did not give an identical copy (${String(ok)}); the unencrypted database was left as it was.`);
    }
    check.pragma('journal_mode = WAL');
  } finally {
    check.close();
  }

  const plainBlobs: string[] = [];
  for (const kind of ['pixels', 'originals'] as const) {
    const dir = path.join(blobDir, kind);
    if (!fs.existsSync(dir)) continue;
    for (const sub of fs.readdirSync(dir)) {
      for (const name of fs.readdirSync(path.join(dir, sub))) {
        if (!LEGACY_BLOB_NAME.test(name)) continue;
        const file = path.join(dir, sub, name);
        // Sealed as found: a damaged plain blob stays damaged (its read reports the checksum), never dropped.
        putBlob(kind, name, fs.readFileSync(file));
        plainBlobs.push(file);
      }
    }
  }
  for (const f of [`${dbPath}-wal`, `${dbPath}-shm`]) fs.rmSync(f, { force: true });
  fs.renameSync(work, dbPath);
  for (const f of plainBlobs) fs.rmSync(f, { force: true });
  return { tables: before, blobs: plainBlobs.length };
}
