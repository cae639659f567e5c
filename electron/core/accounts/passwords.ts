// Password hashing with scrypt (node:crypto, OpenSSL's implementation): a memory-hard KDF, a random 16-byte salt per
// password, and the parameters stored with the hash so that they can be raised later without breaking old hashes.
// Verification recomputes with the stored parameters and compares in constant time.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../errors';

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export interface ScryptParams {
  /** CPU/memory cost, a power of two */
  N: number;
  r: number;
  p: number;
}

/** 2^15 x 8 x 128 bytes = 32 MiB and about 0.1 s a hash on a clinic PC: slow for a guesser, quick for a login. */
export const DEFAULT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

/** A reason this password cannot be used, or null when it is acceptable. */
export function passwordProblem(password: string, username?: string): string | null {
  if (password.length < PASSWORD_MIN) return `The password needs at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `The password can have at most ${PASSWORD_MAX} characters.`;
  if (username && password.toLowerCase() === username.toLowerCase()) return 'The password cannot be the user name.';
  if (/^(.)\1*$/.test(password)) return 'The password cannot be one character repeated.';
  return null;
}

function maxmem(p: ScryptParams): number {
  return 128 * p.N * p.r * 2 + 1024 * 1024;
}

/** `scrypt$N$r$p$<salt base64>$<hash base64>` */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: maxmem(params) });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new AppError('INTERNAL', 'A stored password hash is not in the scrypt format.');
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || (N & (N - 1)) !== 0) throw new AppError('INTERNAL', 'A stored password hash has bad scrypt parameters.');
  return { params: { N, r, p }, salt: Buffer.from(parts[4], 'base64'), key: Buffer.from(parts[5], 'base64') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const { params, salt, key } = parseHash(stored);
  const candidate = await scrypt(password, salt, key.length, { ...params, maxmem: maxmem(params) });
  return candidate.length === key.length && timingSafeEqual(candidate, key);
}

/** A hash to verify against when the user name is unknown, so that the answer takes as long as for a known one. */
let dummy: Promise<string> | null = null;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}
