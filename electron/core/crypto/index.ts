// Patient data at rest: the station's data key, how it is kept (wrapped by protectors in a key file beside the
// database), and the authenticated encryption of the blob files (decoded pixels, original files).
//
// One random 256-bit data key per case store. Nothing is encrypted with it directly: HKDF derives a key for the
// SQLCipher database pages, one for the blob files (AES-256-GCM) and one for the blob file names (HMAC), so that a
// blob's name does not reveal the SHA-256 of the image inside it. The key file holds the data key wrapped by one or
// more protectors:
//   - 'os': wrapped by the operating system's key store through Electron's safeStorage (DPAPI on Windows, the
//     desktop keyring on Linux). Only the desktop app, as the same OS user, can unwrap it. Core never imports
//     electron: the main process passes a KeyWrapper in.
//   - 'passphrase': wrapped with AES-256-GCM under a key derived by scrypt from the administrator's recovery
//     passphrase. Lets the CLI, the web mode and a restore on another PC open the store (CXR_PASSPHRASE).
//   - 'file': the data key itself, protected only by the key file's permissions (0600). The default where no other
//     protector is configured (development, tests, a CLI-only station); SECURITY.md says what that does not protect.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { AppError } from '../errors';
import { hashAndSealToFile, sealToFile } from './sealWorker';

/** Wraps and unwraps small secrets with a key the operating system keeps (Electron's safeStorage). */
export interface KeyWrapper {
  /** what it is, for the settings page ("Windows DPAPI", "gnome_libsecret") */
  readonly name: string;
  wrap(plain: Buffer): Buffer;
  unwrap(wrapped: Buffer): Buffer;
}

/** How a store's key may be reached this time. */
export interface KeyAccess {
  /** the OS key store (the desktop app only) */
  os?: KeyWrapper;
  /** the administrator's recovery passphrase */
  passphrase?: string;
  /**
   * Keep (or create) the 'file' protector. Default true while no other protector exists: a store must always stay
   * reachable by at least one route the station has. The desktop app drops it once 'os' and 'passphrase' exist.
   */
  allowFileProtector?: boolean;
}

export type ProtectorKind = 'os' | 'passphrase' | 'file';

type Protector =
  | { type: 'file'; key: string }
  | { type: 'os'; backend: string; wrapped: string }
  | { type: 'passphrase'; kdf: 'scrypt'; N: number; r: number; p: number; salt: string; iv: string; tag: string; wrapped: string; setAt: string };

interface KeyFileJson {
  format: 'cxr-data-key';
  version: 1;
  /** a fingerprint of the data key (not the key): tells a backup's key from the station's */
  keyId: string;
  createdAt: string;
  protectors: Protector[];
}

export const KEY_FILE_SUFFIX = '.key';
export const SEALED_BLOB_SUFFIX = '.cxb';
const BLOB_MAGIC = Buffer.from('CXRB');
const BLOB_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** header: magic, version, IV; trailer: GCM tag */
export const BLOB_OVERHEAD = BLOB_MAGIC.length + 1 + IV_BYTES + TAG_BYTES;
// scrypt cost: about 0.1 s and 64 MB on a clinic PC, once per unlock; makes guessing a passphrase expensive.
const SCRYPT = { N: 1 << 16, r: 8, p: 1 };

/** The key file of a database: `cxr.sqlite` -> `cxr.sqlite.key`. */
export function keyFileFor(dbPath: string): string {
  return `${dbPath}${KEY_FILE_SUFFIX}`;
}

/** The unwrapped data key and the keys derived from it. */
export class DataKey {
  readonly keyId: string;
  private readonly dbKey: Buffer;
  private readonly blobKey: Buffer;
  private readonly nameKey: Buffer;

  constructor(private readonly raw: Buffer) {
    if (raw.length !== 32) throw new AppError('INTERNAL', 'a data key is 32 bytes');
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), info, 32));
    this.dbKey = derive('cxr database pages');
    this.blobKey = derive('cxr blob files');
    this.nameKey = derive('cxr blob names');
    this.keyId = derive('cxr key id').subarray(0, 12).toString('hex');
  }

  static generate(): DataKey {
    return new DataKey(randomBytes(32));
  }

  /** The SQLCipher key as a raw-key literal (no PBKDF2: the key is already random, so opening stays instant). */
  sqlcipherKeyLiteral(): string {
    return `"x'${this.dbKey.toString('hex')}'"`;
  }

  /**
   * The file name of a blob: an HMAC of its kind and content hash, so that a name does not identify a known image;
   * the `.cxb` suffix tells a sealed blob from a plain one left by a version without encryption.
   */
  blobName(kind: string, sha256: string): string {
    return `${createHmac('sha256', this.nameKey).update(`${kind}:${sha256}`).digest('hex')}${SEALED_BLOB_SUFFIX}`;
  }

  /** Encrypt a blob. `aad` binds it to its kind and hash: a file moved under another name fails to decrypt. */
  sealBlob(aad: string, plain: Uint8Array): Buffer {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.blobKey, iv);
    c.setAAD(Buffer.from(aad));
    const body = c.update(plain);
    c.final();
    return Buffer.concat([BLOB_MAGIC, Buffer.from([BLOB_VERSION]), iv, body, c.getAuthTag()]);
  }

  /**
   * sealBlob's result written to `file` (created 0600) and fsynced, in the blob writer thread (see sealWorker):
   * the calling thread only hands the bytes over. On failure the partly written file is left for the caller.
   */
  sealBlobToFile(aad: string, plain: Uint8Array, file: string): Promise<void> {
    const iv = randomBytes(IV_BYTES);
    return sealToFile({ key: this.blobKey, iv, aad: Buffer.from(aad), header: Buffer.concat([BLOB_MAGIC, Buffer.from([BLOB_VERSION]), iv]), plain, file });
  }

  /**
   * sealBlobToFile for bytes whose hash is not known yet: the writer thread computes it (resolved in `sha256` as
   * soon as known, before the write ends) and seals under `${kind}:${sha256}`, as sealBlob(`${kind}:${sha256}`).
   */
  hashAndSealBlobToFile(kind: string, plain: Uint8Array, file: string): { sha256: Promise<string>; done: Promise<void> } {
    const iv = randomBytes(IV_BYTES);
    return hashAndSealToFile({ key: this.blobKey, iv, aadPrefix: `${kind}:`, header: Buffer.concat([BLOB_MAGIC, Buffer.from([BLOB_VERSION]), iv]), plain, file });
  }

  /** Decrypt a blob written by sealBlob; null if it is not one or fails authentication (damaged or swapped). */
  openBlob(aad: string, sealed: Uint8Array): Buffer | null {
    const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (b.length < BLOB_OVERHEAD || !b.subarray(0, 4).equals(BLOB_MAGIC) || b[4] !== BLOB_VERSION) return null;
    const iv = b.subarray(5, 5 + IV_BYTES);
    const tag = b.subarray(b.length - TAG_BYTES);
    try {
      const d = createDecipheriv('aes-256-gcm', this.blobKey, iv);
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(tag);
      const out = d.update(b.subarray(5 + IV_BYTES, b.length - TAG_BYTES));
      d.final();
      return out;
    } catch {
      return null;
    }
  }

  /** The raw key, for wrapping only. */
  exportRaw(): Buffer {
    return Buffer.from(this.raw);
  }

  sameAs(other: DataKey): boolean {
    return timingSafeEqual(this.raw, other.raw);
  }
}

// ---- the key file -------------------------------------------------------------------------------------------

export function readKeyFile(keyPath: string): KeyFileJson | null {
  let text: string;
  try {
    text = fs.readFileSync(keyPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('DB_KEY_UNAVAILABLE', `Cannot read the key file ${keyPath}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const j = JSON.parse(text) as KeyFileJson;
    if (j.format !== 'cxr-data-key' || j.version !== 1 || !Array.isArray(j.protectors)) throw new Error('not a CXR key file');
    return j;
  } catch (e) {
    throw new AppError('DB_KEY_UNAVAILABLE', `The key file ${keyPath} is damaged (${(e as Error).message}). Restore it from a backup.`, { cause: e });
  }
}

/** Write the key file atomically (temp, fsync, rename), readable by its owner only. */
export function writeKeyFile(keyPath: string, json: KeyFileJson): void {
  const tmp = `${keyPath}.tmp-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(json, null, 1));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, keyPath);
  try {
    fs.chmodSync(keyPath, 0o600);
  } catch {
    // Windows: permissions come from the user-data folder's ACL
  }
}

function passphraseProtector(key: DataKey, passphrase: string): Protector {
  const salt = randomBytes(16);
  const kek = scryptSync(passphrase.normalize('NFC'), salt, 32, { ...SCRYPT, maxmem: 256 * 1024 * 1024 });
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  c.setAAD(Buffer.from(key.keyId));
  const wrapped = Buffer.concat([c.update(key.exportRaw()), c.final()]);
  return { type: 'passphrase', kdf: 'scrypt', ...SCRYPT, salt: salt.toString('base64'), iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), wrapped: wrapped.toString('base64'), setAt: new Date().toISOString() };
}

function unwrap(p: Protector, access: KeyAccess, keyId: string): DataKey | null {
  try {
    if (p.type === 'file') return new DataKey(Buffer.from(p.key, 'base64'));
    if (p.type === 'os' && access.os) return new DataKey(access.os.unwrap(Buffer.from(p.wrapped, 'base64')));
    if (p.type === 'passphrase' && access.passphrase !== undefined) {
      const kek = scryptSync(access.passphrase.normalize('NFC'), Buffer.from(p.salt, 'base64'), 32, { N: p.N, r: p.r, p: p.p, maxmem: 256 * 1024 * 1024 });
      const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(p.iv, 'base64'));
      d.setAAD(Buffer.from(keyId));
      d.setAuthTag(Buffer.from(p.tag, 'base64'));
      return new DataKey(Buffer.concat([d.update(Buffer.from(p.wrapped, 'base64')), d.final()]));
    }
  } catch {
    // a wrong passphrase, another OS user, a damaged entry: try the next protector
  }
  return null;
}

/** Unwrap the data key from a key file's protectors with what `access` offers; null if none opens. */
export function unlockKeyFile(json: KeyFileJson, access: KeyAccess): DataKey | null {
  for (const p of json.protectors) {
    const k = unwrap(p, access, json.keyId);
    if (k && k.keyId === json.keyId) return k;
  }
  return null;
}

/** The protectors a key file should hold, given the routes available now (see allowFileProtector). */
function protectorsFor(key: DataKey, existing: Protector[], access: KeyAccess, newPassphrase?: string): Protector[] {
  const out: Protector[] = existing.filter((p) => p.type !== 'file');
  // The OS route is added whenever the desktop app has one; a passphrase only when an administrator sets it.
  if (access.os && !out.some((p) => p.type === 'os')) out.push({ type: 'os', backend: access.os.name, wrapped: access.os.wrap(key.exportRaw()).toString('base64') });
  if (newPassphrase !== undefined) out.push(passphraseProtector(key, newPassphrase));
  const hasOs = out.some((p) => p.type === 'os');
  const hasPass = out.some((p) => p.type === 'passphrase');
  // The plain key stays until both the OS route and a recovery route exist, unless told otherwise; without a
  // recovery passphrase a lost OS profile would lose every case.
  const keepFile = access.allowFileProtector ?? !(hasOs && hasPass);
  if (keepFile || out.length === 0) out.unshift({ type: 'file', key: key.exportRaw().toString('base64') });
  return out;
}

/**
 * The store's data key: read from the key file (and its protectors brought up to date with `access`), or, when
 * `create` is true and there is no key file, a new key. Throws DB_KEY_UNAVAILABLE when the key cannot be reached.
 */
export function loadDataKey(keyPath: string, access: KeyAccess, create: boolean): { key: DataKey; created: boolean } {
  const json = readKeyFile(keyPath);
  if (!json) {
    if (!create) {
      throw new AppError('DB_KEY_UNAVAILABLE', `The case database is encrypted and its key file ${keyPath} is missing. Restore the key file (or the whole data folder) from a backup.`);
    }
    const key = DataKey.generate();
    writeKeyFile(keyPath, { format: 'cxr-data-key', version: 1, keyId: key.keyId, createdAt: new Date().toISOString(), protectors: protectorsFor(key, [], access) });
    return { key, created: true };
  }
  const key = unlockKeyFile(json, access);
  if (!key) {
    const kinds = json.protectors.map((p) => p.type);
    const how = [
      kinds.includes('os') ? 'the desktop app signed in as the same operating-system user' : null,
      kinds.includes('passphrase') ? (access.passphrase !== undefined ? 'the right recovery passphrase (the one given was wrong)' : 'the recovery passphrase (CXR_PASSPHRASE)') : null,
    ].filter(Boolean);
    throw new AppError('DB_KEY_UNAVAILABLE', `The case database is encrypted and its key could not be unlocked here. It opens with ${how.join(' or ') || 'a key this station does not have'}.`);
  }
  const next = protectorsFor(key, json.protectors, access);
  if (JSON.stringify(next.map((p) => p.type)) !== JSON.stringify(json.protectors.map((p) => p.type))) writeKeyFile(keyPath, { ...json, protectors: next });
  return { key, created: false };
}

/** Set (or replace) the recovery passphrase of an unlocked key. */
export function setRecoveryPassphrase(keyPath: string, key: DataKey, passphrase: string, access: KeyAccess): void {
  if (passphrase.length < 12) throw new AppError('BAD_REQUEST', 'A recovery passphrase needs at least 12 characters.');
  const json = readKeyFile(keyPath);
  if (!json || json.keyId !== key.keyId) throw new AppError('DB_KEY_UNAVAILABLE', `The key file ${keyPath} does not belong to the open store.`);
  const kept = json.protectors.filter((p) => p.type !== 'passphrase');
  writeKeyFile(keyPath, { ...json, protectors: protectorsFor(key, kept, access, passphrase) });
}

export interface ProtectionStatus {
  keyFile: string;
  keyId: string;
  protectors: ProtectorKind[];
  osBackend: string | null;
  passphraseSetAt: string | null;
}

export function protectionStatus(keyPath: string): ProtectionStatus {
  const json = readKeyFile(keyPath);
  if (!json) throw new AppError('DB_KEY_UNAVAILABLE', `No key file at ${keyPath}.`);
  const os = json.protectors.find((p) => p.type === 'os') as Extract<Protector, { type: 'os' }> | undefined;
  const pass = json.protectors.find((p) => p.type === 'passphrase') as Extract<Protector, { type: 'passphrase' }> | undefined;
  return { keyFile: keyPath, keyId: json.keyId, protectors: json.protectors.map((p) => p.type), osBackend: os?.backend ?? null, passphraseSetAt: pass?.setAt ?? null };
}

/** A key file for the same key with only the protectors that make sense away from this station (for backups). */
export function portableKeyFile(keyPath: string): KeyFileJson | null {
  const json = readKeyFile(keyPath);
  if (!json) return null;
  const protectors = json.protectors.filter((p) => p.type === 'passphrase');
  return protectors.length ? { ...json, protectors } : null;
}

export type { KeyFileJson };

/** Is this file a plain (unencrypted) SQLite database? */
export function isPlainSqlite(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    return n === 16 && head.toString('latin1') === 'SQLite format 3\u0000';
  } finally {
    fs.closeSync(fd);
  }
}
