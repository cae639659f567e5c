// The case store: one SQLite database (WAL, foreign keys, versioned migrations) and, beside it, a
// content-addressed blob cache for pixel data and original files.
//
// Why pixels live in files beside the database rather than in it: a 2k x 2.5k 16-bit image is 10 MB; keeping those
// out of SQLite keeps the database small (fast worklist queries, quick online backups, small WAL) and lets the
// viewer stream a file. Blobs are immutable and addressed by their SHA-256, written to a temporary name, flushed and
// renamed before the database transaction that refers to them commits. A crash can therefore leave at worst an
// unreferenced blob (removed by `sweepOrphanBlobs`), never a row pointing to a missing or half-written file.
//
// Everything is encrypted at rest (see ../crypto): the database with SQLCipher, each blob with AES-256-GCM under
// a name that is an HMAC of its hash. The key comes from the key file beside the database (`<db>.key`).
import type { Database as Db } from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { isPlainSqlite, keyFileFor, loadDataKey, type DataKey, type KeyAccess } from '../crypto/index';
import { encryptPlainStore, openEncryptedDatabase, openPlainDatabase } from './encryption';
import { completePendingSwap, sweepStaleWork } from './swap';
import { runMigrations, latestVersion, refuseNewer } from './migrate';
import type { DecodedImage } from '../imaging/types';
import { chooseInitialWindow } from '../imaging/pixels';
import type { WorklistQuery, WorklistRow, CaseDetail, ImageInfo, CaseStatus, WorklistSortKey } from '../../contract/index';

export { runMigrations, latestVersion } from './migrate';

/**
 * A worklist row as the store holds it, with the sha256 of the model whose reading gave its score; whether it is
 * flagged depends on the threshold in force and on that model being the one in use (site/threshold.ts, flagWorklistRow).
 */
export type StoredWorklistRow = Omit<WorklistRow, 'flagged' | 'aiScoreStale'> & { aiScoreModel: string | null };

export const DB_FILE_NAME = 'cxr.sqlite';

/** Each database has its own blob folder beside it (`cases.sqlite` -> `cases.sqlite.blobs/`). */
export function blobDirFor(dbPath: string): string {
  return `${dbPath}.blobs`;
}

export { keyFileFor } from '../crypto/index';

export interface OpenOptions {
  /** better-sqlite3(-multiple-ciphers) binary built for this runtime's ABI (Electron), when not the default one */
  nativeBinding?: string;
  /** how the data key may be unlocked (default: the key file's plain protector, created for a new store) */
  key?: KeyAccess;
  /** test seam: the blob writer's fs.writeSync, to inject ENOSPC and other write faults */
  blobWrite?: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
}

/** A write that failed because the disk is full, as the error the user sees; anything else unchanged. */
export function asDiskFull(e: unknown, what: string): unknown {
  const code = (e as { code?: string })?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return new AppError('DISK_FULL', `The disk holding the case store is full: ${what} was not saved, and everything stored before it is intact. Free some space and try again.`, { cause: e });
  }
  return e;
}

export interface NewImageRecord {
  patient: { patientId: string; patientName: string; birthDate: string | null; sex: string | null };
  study: { studyInstanceUid: string; studyDate: string | null; studyTime: string | null; accessionNumber: string | null; description: string | null };
  series: { seriesInstanceUid: string; modality: string | null; bodyPart: string | null; viewPosition: string | null; seriesNumber: number | null; description: string | null };
  image: {
    sopInstanceUid: string;
    sopClassUid: string | null;
    rows: number;
    columns: number;
    bitsStored: number;
    photometric: 'MONOCHROME1' | 'MONOCHROME2';
    rescaleSlope: number;
    rescaleIntercept: number;
    pixelSpacing: [number, number] | null;
    minPixel: number;
    maxPixel: number;
    windows: { name: string; center: number; width: number }[];
    pixelSha256: string;
    /**
     * Where the stored values sit in the original file, when they are its bytes unchanged (uncompressed 16-bit
     * little endian): then no separate pixels blob is written. Absent or null: the pixels blob holds them.
     */
    pixelOffset?: number | null;
    sourceName: string;
    sourceSha256: string;
    sourceFormat: string;
    transferSyntax: string | null;
  };
}

export interface StoredAnalysisInput {
  imageId: number;
  model: { name: string; version: string; sha256: string; ep: string };
  tbScore: number;
  label: string;
  /** the rest of the reading (probabilities, boxes, lungs, zones, timings), kept as written */
  result: unknown;
  evidence?: Uint8Array | null;
  /** the pack's embedding of the image (what a site head reads), when the pack has one */
  embedding?: Float32Array | null;
  /** ln(p / (1 − p)) of the TB probability */
  baseLogit?: number | null;
}

export interface StoredAnalysis extends Omit<StoredAnalysisInput, 'evidence' | 'embedding' | 'baseLogit'> {
  analysisId: number;
  evidence: Uint8Array | null;
  createdAt: string;
}

export type DuplicateMatch = { imageId: number; caseId: number; sourceName: string; by: 'sopInstanceUid' | 'pixels' };

export type BlobKind = 'pixels' | 'originals';
export type BlobRef = { kind: BlobKind; sha256: string };

/**
 * Every blob the images of a database refer to: each original, and each pixels blob except where the pixels are
 * read from the original (pixel_offset set). For the live store and for a backup's snapshot alike.
 */
export function referencedBlobsIn(db: Db): BlobRef[] {
  const rows = db.prepare('SELECT pixel_sha256 AS p, pixel_offset IS NOT NULL AS inOriginal, source_sha256 AS o FROM images').all() as { p: string; inOriginal: 0 | 1; o: string }[];
  const seen = new Set<string>();
  const out: BlobRef[] = [];
  const add = (kind: BlobKind, sha: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha) || seen.has(`${kind}:${sha}`)) return;
    seen.add(`${kind}:${sha}`);
    out.push({ kind, sha256: sha });
  };
  for (const r of rows) {
    if (!r.inOriginal) add('pixels', r.p);
    add('originals', r.o);
  }
  return out;
}

const NULLABLE_SORT_KEYS = new Set<WorklistSortKey>(['studyDate', 'aiScore', 'modality']);

export function worklistOrder(key: WorklistSortKey, direction: 'asc' | 'desc'): string {
  const col = SORT_COLUMNS[key];
  if (!NULLABLE_SORT_KEYS.has(key)) return direction === 'asc' ? `${col} ASC, id ASC` : `${col} DESC, id DESC`;
  return direction === 'asc' ? `${col} IS NULL ASC, ${col} ASC, id ASC` : `${col} IS NOT NULL DESC, ${col} DESC, id DESC`;
}

const SORT_COLUMNS: Record<WorklistSortKey, string> = {
  patientName: 'patient_name',
  patientId: 'patient_id',
  studyDate: 'study_date',
  modality: 'modality',
  status: 'status',
  aiScore: 'ai_score',
  importedAt: 'imported_at',
};

interface StudyRow {
  id: number;
  patient_name: string;
  patient_id: string;
  study_date: string | null;
  modality: string | null;
  view: string | null;
  description: string | null;
  status: CaseStatus;
  ai_score: number | null;
  ai_score_head: number | null;
  ai_score_model: string | null;
  image_count: number;
  first_image_id: number | null;
  imported_at: string;
  follows_case_ref: number | null;
  ai_out_of_scope: 0 | 1;
}

interface ImageRow {
  id: number;
  sop_instance_uid: string;
  series_ref: number;
  rows: number;
  columns: number;
  bits_stored: number;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  rescale_slope: number;
  rescale_intercept: number;
  spacing_row: number | null;
  spacing_col: number | null;
  min_pixel: number;
  max_pixel: number;
  windows_json: string;
  pixel_sha256: string;
  source_name: string;
  transfer_syntax: string | null;
  modality: string | null;
  view_position: string | null;
  study_ref: number;
}

function sealedBlobPath(blobDir: string, key: DataKey, kind: BlobKind, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new AppError('INTERNAL', `not a sha256: ${sha256}`);
  const name = key.blobName(kind, sha256);
  return path.join(blobDir, kind, name.slice(0, 2), name);
}

/** Seal and write one blob: temp file, fsync, rename, so that a crash never leaves a half file under its name. */
function writeSealedBlob(blobDir: string, key: DataKey, kind: BlobKind, sha256: string, bytes: Uint8Array, write: OpenOptions['blobWrite']): string {
  const target = sealedBlobPath(blobDir, key, kind, sha256);
  if (fs.existsSync(target)) return target;
  const sealed = key.sealBlob(`${kind}:${sha256}`, bytes);
  const writeSync = write ?? ((fd: number, b: Uint8Array, o: number, l: number) => fs.writeSync(fd, b, o, l));
  const tmp = path.join(blobDir, 'tmp', `${path.basename(target)}.${randomBytes(6).toString('hex')}`);
  let fd: number | null = null;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fd = fs.openSync(tmp, 'w', 0o600);
    let at = 0;
    while (at < sealed.byteLength) at += writeSync(fd, sealed, at, sealed.byteLength - at);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw asDiskFull(e, `the ${kind === 'pixels' ? 'image' : 'original file'}`);
  }
  return target;
}

/** The test seam's path of stageSealedBlob: sealed in this thread, written through `write`, fsynced. */
async function sealWithWriteHook(key: DataKey, aad: string, bytes: Uint8Array, tmp: string, write: NonNullable<OpenOptions['blobWrite']>): Promise<void> {
  const sealed = key.sealBlob(aad, bytes);
  const fh = await fs.promises.open(tmp, 'w', 0o600);
  try {
    let at = 0;
    while (at < sealed.byteLength) at += write(fh.fd, sealed, at, sealed.byteLength - at);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A sealed blob written and fsynced under a temporary name, not yet under its own (see CaseStore.stageBlob). */
export interface StagedBlob {
  /** Give the file its name (unless an identical blob already has it); resolves with its path. */
  commit(): Promise<string>;
  /** Remove the temporary file (the import was refused or is a duplicate). */
  discard(): Promise<void>;
}

/**
 * writeSealedBlob without blocking the event loop, in two steps: sealing (WebCrypto), writing and fsync run on
 * libuv's thread pool under a temporary name, so that an import can flush its blobs while the main thread decodes
 * or answers the UI; the rename to the blob's own name (commit) follows the fsync, and the caller commits the
 * database row only after that. Same file format, same durability as writeSealedBlob.
 */
async function stageSealedBlob(blobDir: string, key: DataKey, kind: BlobKind, sha256: string, bytes: Uint8Array, write: OpenOptions['blobWrite']): Promise<StagedBlob> {
  const target = sealedBlobPath(blobDir, key, kind, sha256);
  if (fs.existsSync(target)) return { commit: async () => target, discard: async () => undefined };
  const tmp = path.join(blobDir, 'tmp', `${path.basename(target)}.${randomBytes(6).toString('hex')}`);
  const diskFull = (e: unknown) => asDiskFull(e, `the ${kind === 'pixels' ? 'image' : 'original file'}`);
  try {
    if (write) await sealWithWriteHook(key, `${kind}:${sha256}`, bytes, tmp, write);
    else await key.sealBlobToFile(`${kind}:${sha256}`, bytes, tmp);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw diskFull(e);
  }
  return stagedFile(tmp, target, diskFull);
}

/** A fsynced temporary file that becomes `target` on commit (kept out of the way if `target` exists) or goes. */
function stagedFile(tmp: string, target: string, diskFull: (e: unknown) => unknown): StagedBlob {
  let settled = false;
  return {
    async commit() {
      if (settled) return target;
      settled = true;
      try {
        await fs.promises.mkdir(path.dirname(target), { recursive: true });
        // An identical blob stored meanwhile (same content, same name) is kept; ours is not needed.
        if (fs.existsSync(target)) await fs.promises.rm(tmp, { force: true });
        else await fs.promises.rename(tmp, target);
      } catch (e) {
        await fs.promises.rm(tmp, { force: true });
        throw diskFull(e);
      }
      return target;
    },
    async discard() {
      if (settled) return;
      settled = true;
      await fs.promises.rm(tmp, { force: true });
    },
  };
}

/**
 * stageSealedBlob for bytes whose hash is not known yet: hashed, sealed, written and fsynced in the blob writer
 * thread (see DataKey.hashAndSealBlobToFile); `sha256` resolves as soon as the hash is known, `staged` once the
 * file is durable under its temporary name.
 */
function stageUnhashedBlob(blobDir: string, key: DataKey, kind: BlobKind, bytes: Uint8Array): { sha256: Promise<string>; staged: Promise<StagedBlob> } {
  const tmp = path.join(blobDir, 'tmp', `${kind}-${randomBytes(8).toString('hex')}`);
  const diskFull = (e: unknown) => asDiskFull(e, `the ${kind === 'pixels' ? 'image' : 'original file'}`);
  const job = key.hashAndSealBlobToFile(kind, bytes, tmp);
  const staged = job.done.then(
    async () => stagedFile(tmp, sealedBlobPath(blobDir, key, kind, await job.sha256), diskFull),
    async (e) => {
      await fs.promises.rm(tmp, { force: true });
      throw diskFull(e);
    },
  );
  return { sha256: job.sha256, staged };
}

export class CaseStore {
  readonly db: Db;
  readonly dataDir: string;
  readonly dbPath: string;
  readonly keyPath: string;
  private readonly blobDir: string;
  private readonly search: SearchCache;
  private readonly key: DataKey;
  private readonly blobWrite: OpenOptions['blobWrite'];

  private constructor(dbPath: string, db: Db, key: DataKey, blobWrite: OpenOptions['blobWrite']) {
    this.dbPath = dbPath;
    this.dataDir = path.dirname(dbPath);
    this.blobDir = blobDirFor(dbPath);
    this.keyPath = keyFileFor(dbPath);
    this.db = db;
    this.key = key;
    this.blobWrite = blobWrite;
    this.search = new SearchCache(db);
  }

  /**
   * Open (creating if needed) the encrypted database file `dbPath`, its key file and its blob folder, applying
   * pending migrations. A store written before encryption is converted first (see encryptPlainStore).
   */
  static open(dbPath: string, options: OpenOptions = {}): CaseStore {
    dbPath = path.resolve(dbPath);
    const blobDir = blobDirFor(dbPath);
    try {
      // A restore staged by the running app (or cut short by a crash) replaces the store before anything opens it.
      completePendingSwap(dbPath);
      fs.mkdirSync(path.join(blobDir, 'tmp'), { recursive: true });
      sweepStaleWork(dbPath);
    } catch (e) {
      throw new AppError('DB_OPEN_FAILED', `Cannot create the data folder for ${dbPath}: ${(e as Error).message}`, { cause: e });
    }
    const exists = fs.existsSync(dbPath) && fs.statSync(dbPath).size > 0;
    const plain = exists && isPlainSqlite(dbPath);
    if (plain) {
      // Refuse a newer app's database before converting anything. (Read-write: a WAL left by a crash of the old
      // version needs SQLite's recovery, which a read-only connection cannot run; nothing else is written.)
      const p = openPlainDatabase(dbPath, options.nativeBinding, false);
      try {
        refuseNewer(p.pragma('user_version', { simple: true }) as number);
      } finally {
        p.close();
      }
    }
    const { key } = loadDataKey(keyFileFor(dbPath), options.key ?? {}, !exists || plain);
    const blobWrite = options.blobWrite;
    if (plain) {
      try {
        encryptPlainStore(dbPath, blobDir, key, (kind, sha, bytes) => writeSealedBlob(blobDir, key, kind, sha, bytes, blobWrite), options.nativeBinding);
      } catch (e) {
        throw asDiskFull(e, 'the encrypted copy of the case database');
      }
    }
    let db: Db;
    try {
      db = openEncryptedDatabase(dbPath, key, options.nativeBinding);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('DB_OPEN_FAILED', `Cannot open the case database ${dbPath}: ${(e as Error).message}`, { cause: e });
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      // FULL: a commit reported to the user (a saved edit, a sign-off) survives a power cut, not only a crash.
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      runMigrations(db);
    } catch (e) {
      db.close();
      if (e instanceof AppError) throw e;
      if (asDiskFull(e, '') !== e) throw new AppError('DISK_FULL', `The disk holding the case store is full: ${dbPath} cannot be opened for writing. Free some space and start again; nothing stored was lost.`, { cause: e });
      throw new AppError('DB_OPEN_FAILED', `Cannot open the case database ${dbPath}: ${(e as Error).message}`, { cause: e });
    }
    return new CaseStore(dbPath, db, key, blobWrite);
  }

  /** The fingerprint of this store's data key (tells whether a backup was made with the same key). */
  get keyId(): string {
    return this.key.keyId;
  }

  /** The data key, for the backup service (which copies sealed blobs and checks a restored store). */
  dataKey(): DataKey {
    return this.key;
  }

  /**
   * A transactionally consistent copy of the database, encrypted with the same key, written while the app goes on
   * working (VACUUM INTO reads in one transaction; in WAL mode writers are not blocked).
   */
  snapshotDatabase(file: string): void {
    try {
      this.db.prepare('VACUUM INTO ?').run(file);
    } catch (e) {
      fs.rmSync(file, { force: true });
      throw asDiskFull(e, 'the backup copy of the database');
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  static latestSchemaVersion(): number {
    return latestVersion();
  }

  // ---- blobs -------------------------------------------------------------------------------------------

  blobPath(kind: BlobKind, sha256: string): string {
    return sealedBlobPath(this.blobDir, this.key, kind, sha256);
  }

  /** Encrypt and write an immutable blob atomically (temp file, fsync, rename). Returns its path. Idempotent. */
  putBlob(kind: BlobKind, sha256: string, bytes: Uint8Array): string {
    return writeSealedBlob(this.blobDir, this.key, kind, sha256, bytes, this.blobWrite);
  }

  /**
   * putBlob's first half off the event loop: seal, write and fsync under a temporary name (thread pool). Commit
   * gives the file its name; discard removes it. A crash before commit leaves only a temporary file (removed by
   * sweepOrphanBlobs). `bytes` must not change until this resolves.
   */
  stageBlob(kind: BlobKind, sha256: string, bytes: Uint8Array): Promise<StagedBlob> {
    return stageSealedBlob(this.blobDir, this.key, kind, sha256, bytes, this.blobWrite);
  }

  /**
   * stageBlob for bytes not hashed yet: the blob writer thread hashes them (SHA-256, `sha256`), then seals,
   * writes and fsyncs them (`staged`), so the calling thread does neither. `bytes` must not change until `staged`
   * settles (a SharedArrayBuffer-backed array is read in place, anything else is copied once).
   */
  stageNewBlob(kind: BlobKind, bytes: Uint8Array): { sha256: Promise<string>; staged: Promise<StagedBlob> } {
    if (this.blobWrite) {
      // the test seam writes through the calling thread's fs: hash here, then that path
      const h = sha256(bytes);
      return { sha256: Promise.resolve(h), staged: this.stageBlob(kind, h, bytes) };
    }
    return stageUnhashedBlob(this.blobDir, this.key, kind, bytes);
  }

  /** putBlob off the event loop; resolves with the path once the file is durable under its name. */
  async putBlobAsync(kind: BlobKind, sha256: string, bytes: Uint8Array): Promise<string> {
    return (await this.stageBlob(kind, sha256, bytes)).commit();
  }

  /** A blob's plain bytes; PIXELS_MISSING if the file is gone or fails authentication (damaged or swapped). */
  readBlob(kind: BlobKind, sha256: string): Buffer {
    const p = this.blobPath(kind, sha256);
    let sealed: Buffer;
    try {
      sealed = fs.readFileSync(p);
    } catch (e) {
      throw new AppError('PIXELS_MISSING', `The stored ${kind} file for this image is missing (${p}). Restore the data folder from a backup.`, { cause: e });
    }
    const plain = this.key.openBlob(`${kind}:${sha256}`, sealed);
    if (!plain) throw new AppError('PIXELS_MISSING', `The stored ${kind} file for this image is damaged (it fails its authentication check): ${p}. Restore the data folder from a backup.`);
    return plain;
  }

  /** The sealed file of a blob as stored (for backups: copied without decrypting). */
  sealedBlobFile(kind: BlobKind, sha256: string): string {
    return this.blobPath(kind, sha256);
  }

  /** Every blob the database refers to (for backups and checks). */
  referencedBlobs(): BlobRef[] {
    return referencedBlobsIn(this.db);
  }

  /** Remove temporary files and blobs that no row refers to (left by a crash between blob write and commit). */
  sweepOrphanBlobs(): { removed: number } {
    let removed = 0;
    const tmpDir = path.join(this.blobDir, 'tmp');
    for (const f of fs.readdirSync(tmpDir)) {
      fs.rmSync(path.join(tmpDir, f), { force: true });
      removed++;
    }
    const referenced: Record<BlobKind, Set<string>> = { pixels: new Set(), originals: new Set() };
    for (const b of this.referencedBlobs()) referenced[b.kind].add(this.key.blobName(b.kind, b.sha256));
    for (const kind of ['pixels', 'originals'] as const) {
      const dir = path.join(this.blobDir, kind);
      if (!fs.existsSync(dir)) continue;
      for (const sub of fs.readdirSync(dir)) {
        for (const f of fs.readdirSync(path.join(dir, sub))) {
          if (!referenced[kind].has(f)) {
            fs.rmSync(path.join(dir, sub, f), { force: true });
            removed++;
          }
        }
      }
    }
    return { removed };
  }

  // ---- images and cases ----------------------------------------------------------------------------------

  findDuplicate(sopInstanceUid: string, pixelSha256: string): DuplicateMatch | null {
    const row = this.db
      .prepare(
        `SELECT i.id AS imageId, s.study_ref AS caseId, i.source_name AS sourceName,
                CASE WHEN i.sop_instance_uid = ? THEN 'sopInstanceUid' ELSE 'pixels' END AS by
           FROM images i JOIN series s ON s.id = i.series_ref
          WHERE i.sop_instance_uid = ? OR i.pixel_sha256 = ? LIMIT 1`,
      )
      .get(sopInstanceUid, sopInstanceUid, pixelSha256) as DuplicateMatch | undefined;
    return row ?? null;
  }

  /**
   * Insert one image with its patient, study and series in a single transaction. The image joins its study's latest
   * case, unless that case has been signed: a signed case never gains an image (its signature covers exactly what
   * was signed), so the image opens a new case of the same study, a follow-up linked to the signed one
   * (`followsCaseId`), to be read and signed on its own.
   */
  insertImage(rec: NewImageRecord, now: string = new Date().toISOString()): { caseId: number; imageId: number; followsCaseId: number | null } {
    const tx = this.db.transaction(() => {
      const p = rec.patient;
      this.db
        .prepare(
          `INSERT INTO patients (patient_id, patient_name, birth_date, sex) VALUES (?, ?, ?, ?)
           ON CONFLICT (patient_id, patient_name) DO UPDATE SET
             birth_date = coalesce(patients.birth_date, excluded.birth_date), sex = coalesce(patients.sex, excluded.sex)`,
        )
        .run(p.patientId, p.patientName, p.birthDate, p.sex);
      const patientRef = (this.db.prepare('SELECT id FROM patients WHERE patient_id = ? AND patient_name = ?').get(p.patientId, p.patientName) as { id: number }).id;

      const st = rec.study;
      const latest = this.db
        .prepare(
          `SELECT id, follows_case_ref AS follows, EXISTS (SELECT 1 FROM signatures g WHERE g.case_ref = studies.id) AS signed
             FROM studies WHERE study_instance_uid = ? ORDER BY id DESC LIMIT 1`,
        )
        .get(st.studyInstanceUid) as { id: number; follows: number | null; signed: 0 | 1 } | undefined;
      let study: { id: number } | undefined = latest && !latest.signed ? { id: latest.id } : undefined;
      // the signed case a new case follows; an image joining an open follow-up reports the case that one follows
      const followsCaseId = !latest ? null : latest.signed ? latest.id : latest.follows;
      if (!study) {
        const info = this.db
          .prepare(
            `INSERT INTO studies (study_instance_uid, patient_ref, study_date, study_time, accession_number, description,
                                  imported_at, patient_name, patient_id, modality, view, search_text, follows_case_ref)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            st.studyInstanceUid,
            patientRef,
            st.studyDate,
            st.studyTime,
            st.accessionNumber,
            st.description,
            now,
            p.patientName,
            p.patientId,
            rec.series.modality,
            rec.series.viewPosition,
            `${p.patientName} ${p.patientId} ${st.accessionNumber ?? ''} ${st.description ?? ''}`.toLowerCase(),
            followsCaseId,
          );
        study = { id: Number(info.lastInsertRowid) };
      }

      const se = rec.series;
      // A series belongs to one study: its rows (one per case of that study) must all be of this study.
      const elsewhere = this.db
        .prepare('SELECT st.study_instance_uid AS uid FROM series s JOIN studies st ON st.id = s.study_ref WHERE s.series_instance_uid = ? AND st.study_instance_uid <> ? LIMIT 1')
        .get(se.seriesInstanceUid, st.studyInstanceUid) as { uid: string } | undefined;
      if (elsewhere) {
        throw new AppError('DICOM_CORRUPT', `Series ${se.seriesInstanceUid} already belongs to another study; the file's UIDs are inconsistent.`);
      }
      let series = this.db.prepare('SELECT id FROM series WHERE series_instance_uid = ? AND study_ref = ?').get(se.seriesInstanceUid, study.id) as { id: number } | undefined;
      if (!series) {
        const info = this.db
          .prepare(
            `INSERT INTO series (series_instance_uid, study_ref, modality, body_part, view_position, series_number, description)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(se.seriesInstanceUid, study.id, se.modality, se.bodyPart, se.viewPosition, se.seriesNumber, se.description);
        series = { id: Number(info.lastInsertRowid) };
      }

      const im = rec.image;
      const info = this.db
        .prepare(
          `INSERT INTO images (sop_instance_uid, sop_class_uid, series_ref, rows, columns, bits_stored, photometric,
             rescale_slope, rescale_intercept, spacing_row, spacing_col, min_pixel, max_pixel, windows_json,
             pixel_sha256, pixel_offset, source_name, source_sha256, source_format, transfer_syntax, imported_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          im.sopInstanceUid,
          im.sopClassUid,
          series.id,
          im.rows,
          im.columns,
          im.bitsStored,
          im.photometric,
          im.rescaleSlope,
          im.rescaleIntercept,
          im.pixelSpacing ? im.pixelSpacing[0] : null,
          im.pixelSpacing ? im.pixelSpacing[1] : null,
          im.minPixel,
          im.maxPixel,
          JSON.stringify(im.windows),
          im.pixelSha256,
          im.pixelOffset ?? null,
          im.sourceName,
          im.sourceSha256,
          im.sourceFormat,
          im.transferSyntax,
          now,
        );
      const imageId = Number(info.lastInsertRowid);
      this.db
        .prepare(
          `UPDATE studies SET image_count = image_count + 1, first_image_id = coalesce(first_image_id, ?),
                  modality = coalesce(modality, ?), view = coalesce(view, ?) WHERE id = ?`,
        )
        .run(imageId, se.modality, se.viewPosition, study.id);
      return { caseId: study.id, imageId, followsCaseId };
    });
    try {
      return tx.immediate();
    } catch (e) {
      throw asDiskFull(e, 'the image');
    }
  }

  /**
   * The worklist page: sorted, filtered, paged. Sorting by an indexed column with `id` as the tie-breaker.
   * `flagRule`: the operating threshold in force and the sha256 of the model pack in use (site/threshold.ts decides
   * both), for the flagged-only filter; null while no pack is loaded, when nothing is flagged.
   */
  findCasesForWorklist(q: Required<Pick<WorklistQuery, 'sort' | 'filter' | 'offset' | 'limit'>>, flagRule: WorklistFlagRule | null = null): { total: number; rows: StoredWorklistRow[] } {
    const f = q.filter ?? {};
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.flagged) {
      // The rows flagWorklistRow flags (a score read by the pack in use, at or above the threshold in force: the same
      // comparison as triage's isFlagged), in SQL so that the page and its total come from the index walk like every
      // other filter.
      if (!flagRule) where.push('0');
      else {
        where.push('ai_score_model = ? AND ai_score >= ?');
        args.push(flagRule.modelSha256.toLowerCase(), flagRule.threshold);
      }
    }
    if (f.status) {
      where.push('status = ?');
      args.push(f.status);
    }
    if (f.modality) {
      where.push('modality = ?');
      args.push(f.modality);
    }
    // NULLs (no score yet, no date) go last whichever the direction, as a radiologist expects in a triage list;
    // each form matches one of the migration's indexes exactly, so no query sorts in a temporary B-tree.
    const order = worklistOrder(q.sort.key, q.sort.dir);
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const text = f.text?.trim().toLowerCase() ?? '';
    if (!text) {
      const total = (this.db.prepare(`SELECT count(*) AS n FROM studies ${whereSql}`).get(...args) as { n: number }).n;
      const rows = this.db.prepare(`SELECT ${WORKLIST_COLUMNS} FROM studies ${whereSql} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as StudyRow[];
      return { total, rows: rows.map(toWorklistRow) };
    }
    const matches = this.search.matching(text);
    if (matches.length <= SMALL_MATCH_SET) {
      // Few matches: let SQLite fetch them by id, apply the other filters and sort them.
      const inIds = `id IN (SELECT value FROM json_each(?))`;
      const w = `WHERE ${[inIds, ...where].join(' AND ')}`;
      const idsJson = JSON.stringify(matches);
      const total = (this.db.prepare(`SELECT count(*) AS n FROM studies ${w}`).get(idsJson, ...args) as { n: number }).n;
      const rows = this.db.prepare(`SELECT ${WORKLIST_COLUMNS} FROM studies ${w} ORDER BY ${order} LIMIT ? OFFSET ?`).all(idsJson, ...args, q.limit, q.offset) as StudyRow[];
      return { total, rows: rows.map(toWorklistRow) };
    }
    // Many matches: walk the sort order's index and keep the matching ids; the page fills early.
    const wanted = new Set(matches);
    const page: number[] = [];
    let seen = 0;
    const needTotal = where.length > 0;
    // Ids come in chunks: one statement step per row costs more than reading a few thousand at once.
    const chunk = this.db.prepare(`SELECT id FROM studies ${whereSql} ORDER BY ${order} LIMIT ? OFFSET ?`).pluck();
    scan: for (let at = 0; ; at += WALK_CHUNK) {
      const ids = chunk.all(...args, WALK_CHUNK, at) as number[];
      for (const id of ids) {
        if (!wanted.has(id)) continue;
        if (seen >= q.offset && page.length < q.limit) page.push(id);
        seen++;
        if (!needTotal && page.length === q.limit) break scan;
      }
      if (ids.length < WALK_CHUNK) break;
    }
    const total = needTotal ? seen : matches.length;
    const byId = new Map(
      (this.db.prepare(`SELECT ${WORKLIST_COLUMNS} FROM studies WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(page)) as StudyRow[]).map((r) => [r.id, r]),
    );
    return { total, rows: page.map((id) => toWorklistRow(byId.get(id)!)) };
  }

  getCase(caseId: number): CaseDetail {
    const s = this.db
      .prepare(
        `SELECT s.id, s.study_instance_uid, s.patient_name, s.patient_id, p.sex, p.birth_date, s.study_date,
                s.accession_number, s.description, s.status, s.follows_case_ref
           FROM studies s JOIN patients p ON p.id = s.patient_ref WHERE s.id = ?`,
      )
      .get(caseId) as
      | { id: number; study_instance_uid: string; patient_name: string; patient_id: string; sex: string | null; birth_date: string | null; study_date: string | null; accession_number: string | null; description: string | null; status: CaseStatus; follows_case_ref: number | null }
      | undefined;
    if (!s) throw new AppError('NOT_FOUND', `Case ${caseId} does not exist.`);
    const images = (this.db.prepare(`${IMAGE_SELECT} WHERE se.study_ref = ? ORDER BY i.id`).all(caseId) as ImageRow[]).map(toImageInfo);
    return {
      caseId: s.id,
      studyInstanceUid: s.study_instance_uid,
      patientName: s.patient_name,
      patientId: s.patient_id,
      patientSex: s.sex,
      patientBirthDate: s.birth_date,
      studyDate: s.study_date,
      accessionNumber: s.accession_number,
      description: s.description,
      status: s.status,
      images,
      followsCaseId: s.follows_case_ref,
      followUpCaseIds: this.db.prepare('SELECT id FROM studies WHERE follows_case_ref = ? ORDER BY id').pluck().all(caseId) as number[],
    };
  }

  getImage(imageId: number): ImageInfo & { pixelSha256: string } {
    const row = this.db.prepare(`${IMAGE_SELECT} WHERE i.id = ?`).get(imageId) as ImageRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', `Image ${imageId} does not exist.`);
    return { ...toImageInfo(row), pixelSha256: row.pixel_sha256 };
  }

  /** The image's stored values as unsigned 16-bit little-endian bytes. */
  readPixels(imageId: number): Uint8Array {
    return this.pixelsOf(imageId, this.pixelRow(imageId));
  }

  /** The image as the imaging service decoded it, rebuilt from its row and pixels (for analysis and exports). */
  loadDecodedImage(imageId: number): DecodedImage {
    const row = this.pixelRow(imageId);
    const bytes = this.pixelsOf(imageId, row);
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    return {
      format: row.source_format as DecodedImage['format'],
      rows: row.rows,
      columns: row.columns,
      bitsStored: row.bits_stored,
      pixels: new Uint16Array(aligned.buffer, aligned.byteOffset, row.rows * row.columns),
      photometric: row.photometric,
      rescaleSlope: row.rescale_slope,
      rescaleIntercept: row.rescale_intercept,
      pixelSpacing: row.spacing_row && row.spacing_col ? [row.spacing_row, row.spacing_col] : null,
      minPixel: row.min_pixel,
      maxPixel: row.max_pixel,
      windows: JSON.parse(row.windows_json),
      transferSyntax: row.transfer_syntax,
      dicom: null,
    };
  }

  private pixelRow(imageId: number): PixelRow {
    const row = this.db
      .prepare(`SELECT rows, columns, bits_stored, photometric, rescale_slope, rescale_intercept, spacing_row, spacing_col,
                       min_pixel, max_pixel, windows_json, source_format, transfer_syntax, pixel_sha256, pixel_offset,
                       source_sha256 FROM images WHERE id = ?`)
      .get(imageId) as PixelRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', `Image ${imageId} does not exist.`);
    return row;
  }

  /** The stored values: the pixels blob, or their bytes inside the original file; checked against their hash. */
  private pixelsOf(imageId: number, row: PixelRow): Uint8Array {
    const length = row.rows * row.columns * 2;
    let buf: Buffer;
    if (row.pixel_offset === null) {
      buf = this.readBlob('pixels', row.pixel_sha256);
    } else {
      const original = this.readBlob('originals', row.source_sha256);
      if (row.pixel_offset + length > original.byteLength) {
        throw new AppError('PIXELS_MISSING', `The stored original file of image ${imageId} is shorter than its pixel data; restore the data folder from a backup.`);
      }
      buf = original.subarray(row.pixel_offset, row.pixel_offset + length);
    }
    if (buf.byteLength !== length) {
      throw new AppError('PIXELS_MISSING', `The stored pixel file for image ${imageId} has the wrong size; restore the data folder from a backup.`);
    }
    if (sha256(buf) !== row.pixel_sha256) {
      throw new AppError('PIXELS_MISSING', `The stored pixel file for image ${imageId} is damaged (checksum mismatch); restore the data folder from a backup.`);
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  // ---- analyses ------------------------------------------------------------------------------------------

  /** Images that have neither an analysis nor a recorded failure for this model version, oldest first. */
  imagesAwaitingAnalysis(model: { name: string; version: string }, limit = 1000): number[] {
    return this.db
      .prepare(
        `SELECT i.id FROM images i
          WHERE NOT EXISTS (SELECT 1 FROM analyses a WHERE a.image_ref = i.id AND a.model_name = ? AND a.model_version = ?)
            AND NOT EXISTS (SELECT 1 FROM analysis_failures f WHERE f.image_ref = i.id AND f.model_name = ? AND f.model_version = ?)
          ORDER BY i.id LIMIT ?`,
      )
      .pluck()
      .all(model.name, model.version, model.name, model.version, limit) as number[];
  }

  countImagesAwaitingAnalysis(model: { name: string; version: string }): number {
    return this.db
      .prepare(
        `SELECT count(*) FROM images i
          WHERE NOT EXISTS (SELECT 1 FROM analyses a WHERE a.image_ref = i.id AND a.model_name = ? AND a.model_version = ?)
            AND NOT EXISTS (SELECT 1 FROM analysis_failures f WHERE f.image_ref = i.id AND f.model_name = ? AND f.model_version = ?)`,
      )
      .pluck()
      .get(model.name, model.version, model.name, model.version) as number;
  }

  /**
   * Store the model's reading of an image and update its case's AI score (the highest of its images, the pack's own
   * score; where a site head is in force the site service re-scores the case right after).
   */
  saveAnalysis(a: StoredAnalysisInput, now: string = new Date().toISOString()): { analysisId: number; caseId: number } {
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO analyses (image_ref, model_name, model_version, model_sha256, execution_provider, tb_score, label, result_json, evidence,
                                 embedding, embedding_dim, base_logit, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(a.imageId, a.model.name, a.model.version, a.model.sha256, a.model.ep, a.tbScore, a.label, JSON.stringify(a.result), a.evidence ?? null,
          a.embedding ? Buffer.from(a.embedding.buffer, a.embedding.byteOffset, a.embedding.byteLength) : null, a.embedding ? a.embedding.length : null,
          a.baseLogit ?? null, now);
      this.db.prepare('DELETE FROM analysis_failures WHERE image_ref = ? AND model_name = ? AND model_version = ?').run(a.imageId, a.model.name, a.model.version);
      const caseId = (this.db.prepare('SELECT se.study_ref FROM images i JOIN series se ON se.id = i.series_ref WHERE i.id = ?').pluck().get(a.imageId)) as number;
      this.db
        .prepare(
          `UPDATE studies SET
             ai_score = (SELECT max(a.tb_score) FROM analyses a JOIN images i ON i.id = a.image_ref JOIN series se ON se.id = i.series_ref
                          WHERE se.study_ref = studies.id AND a.model_name = ? AND a.model_version = ?),
             ai_score_head = NULL,
             ai_score_model = ?, ai_model_name = ?, ai_model_version = ?,
             status = CASE WHEN status = 'new' THEN 'analyzed' ELSE status END
           WHERE id = ?`,
        )
        .run(a.model.name, a.model.version, a.model.sha256.toLowerCase(), a.model.name, a.model.version, caseId);
      return { analysisId: Number(info.lastInsertRowid), caseId };
    }).immediate();
  }

  recordAnalysisFailure(imageId: number, model: { name: string; version: string }, error: { code: string; message: string }, now: string = new Date().toISOString()): void {
    this.db
      .prepare(
        `INSERT INTO analysis_failures (image_ref, model_name, model_version, code, message, failed_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (image_ref, model_name, model_version) DO UPDATE SET code = excluded.code, message = excluded.message, failed_at = excluded.failed_at`,
      )
      .run(imageId, model.name, model.version, error.code, error.message, now);
  }

  /** The latest analysis of an image (any model), or null. */
  getAnalysis(imageId: number): StoredAnalysis | null {
    const r = this.db
      .prepare(
        `SELECT id, image_ref, model_name, model_version, model_sha256, execution_provider, tb_score, label, result_json, evidence, created_at
           FROM analyses WHERE image_ref = ? ORDER BY id DESC LIMIT 1`,
      )
      .get(imageId) as
      | { id: number; image_ref: number; model_name: string; model_version: string; model_sha256: string; execution_provider: string; tb_score: number; label: string; result_json: string; evidence: Buffer | null; created_at: string }
      | undefined;
    if (!r) return null;
    return {
      analysisId: r.id,
      imageId: r.image_ref,
      model: { name: r.model_name, version: r.model_version, sha256: r.model_sha256, ep: r.execution_provider },
      tbScore: r.tb_score,
      label: r.label,
      result: JSON.parse(r.result_json),
      evidence: r.evidence ? new Uint8Array(r.evidence) : null,
      createdAt: r.created_at,
    };
  }

  getAnalysisFailure(imageId: number): { code: string; message: string; modelName: string; modelVersion: string } | null {
    return (
      (this.db
        .prepare('SELECT code, message, model_name AS modelName, model_version AS modelVersion FROM analysis_failures WHERE image_ref = ? ORDER BY id DESC LIMIT 1')
        .get(imageId) as { code: string; message: string; modelName: string; modelVersion: string } | undefined) ?? null
    );
  }

  countCases(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM studies').get() as { n: number }).n;
  }
}

const SMALL_MATCH_SET = 2000;
const WALK_CHUNK = 4000;

/**
 * The worklist's text filter: every case's search text (patient name, ID, accession, description; lower case) kept
 * in memory and scanned with String.includes, which is several times faster than any scan SQLite can do of 50,000
 * rows. Search texts are written once when a study is created and never changed, so the cache only needs the rows
 * added since it last looked, including those added by another process (the CLI) on the same database.
 */
class SearchCache {
  private ids: number[] = [];
  private texts: string[] = [];
  private maxId = 0;
  constructor(private readonly db: Db) {}

  matching(text: string): number[] {
    const fresh = this.db.prepare('SELECT id, search_text FROM studies WHERE id > ? ORDER BY id').all(this.maxId) as { id: number; search_text: string }[];
    for (const r of fresh) {
      this.ids.push(r.id);
      this.texts.push(r.search_text);
      this.maxId = r.id;
    }
    const out: number[] = [];
    const texts = this.texts;
    for (let i = 0; i < texts.length; i++) if (texts[i].includes(text)) out.push(this.ids[i]);
    return out;
  }
}

// ai_out_of_scope: the model refused every image it read of a case that has no score (OUT_OF_SCOPE: no two plausible
// lung fields); looked up only for the rows of the page, through the series, images and failures indexes.
const WORKLIST_COLUMNS = `id, patient_name, patient_id, study_date, modality, view, description, status, ai_score, ai_score_head,
  ai_score_model, image_count, first_image_id, imported_at, follows_case_ref,
  (ai_score IS NULL AND EXISTS (SELECT 1 FROM series se JOIN images i ON i.series_ref = se.id JOIN analysis_failures f ON f.image_ref = i.id
                                 WHERE se.study_ref = studies.id AND f.code = 'OUT_OF_SCOPE')) AS ai_out_of_scope`;

/** What the worklist's flagged-only filter compares with: the threshold in force and the model pack in use. */
export interface WorklistFlagRule {
  /** sha256 of the pack in use: a score read by another model is not flagged against its threshold */
  modelSha256: string;
  /** the operating threshold in force (0–100) */
  threshold: number;
}

function toWorklistRow(r: StudyRow): StoredWorklistRow {
  return {
    caseId: r.id,
    patientName: r.patient_name,
    patientId: r.patient_id,
    studyDate: r.study_date,
    modality: r.modality,
    view: r.view,
    description: r.description,
    status: r.status,
    aiScore: r.ai_score,
    aiScoreHead: r.ai_score_head,
    aiScoreModel: r.ai_score_model,
    imageCount: r.image_count,
    firstImageId: r.first_image_id,
    importedAt: r.imported_at,
    followsCaseId: r.follows_case_ref,
    aiOutOfScope: r.ai_out_of_scope === 1,
  };
}

/** The columns that rebuild an image's pixels; picked from {@link ImageRow} so that the two row types cannot drift apart. */
type PixelRow = Pick<
  ImageRow,
  | 'rows'
  | 'columns'
  | 'bits_stored'
  | 'photometric'
  | 'rescale_slope'
  | 'rescale_intercept'
  | 'spacing_row'
  | 'spacing_col'
  | 'min_pixel'
  | 'max_pixel'
  | 'windows_json'
  | 'transfer_syntax'
  | 'pixel_sha256'
> & {
  source_format: string;
  pixel_offset: number | null;
  source_sha256: string;
};

const IMAGE_SELECT = `SELECT i.id, i.sop_instance_uid, i.series_ref, i.rows, i.columns, i.bits_stored, i.photometric,
    i.rescale_slope, i.rescale_intercept, i.spacing_row, i.spacing_col, i.min_pixel, i.max_pixel, i.windows_json,
    i.pixel_sha256, i.source_name, i.transfer_syntax, se.modality, se.view_position, se.study_ref
  FROM images i JOIN series se ON se.id = i.series_ref`;

function toImageInfo(r: ImageRow): ImageInfo {
  const windows = JSON.parse(r.windows_json) as ImageInfo['windows'];
  return {
    imageId: r.id,
    caseId: r.study_ref,
    sopInstanceUid: r.sop_instance_uid,
    rows: r.rows,
    columns: r.columns,
    bitsStored: r.bits_stored,
    photometric: r.photometric,
    rescaleSlope: r.rescale_slope,
    rescaleIntercept: r.rescale_intercept,
    pixelSpacing: r.spacing_row && r.spacing_col ? [r.spacing_row, r.spacing_col] : null,
    minPixel: r.min_pixel,
    maxPixel: r.max_pixel,
    windows,
    initialWindow: chooseInitialWindow(windows),
    modality: r.modality,
    view: r.view_position,
    sourceName: r.source_name,
    transferSyntax: r.transfer_syntax,
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
