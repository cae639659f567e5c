// The blob writer thread: seals a blob (AES-256-GCM, the format of DataKey.sealBlob), writes it to a new file and
// fsyncs it, all in one worker thread, so that a 10 MB radiograph is encrypted and flushed while the main thread
// decodes it and keeps answering the UI. Done on libuv's pool instead (WebCrypto, then fs.promises), each step
// waits for the main thread to pick up the previous one, and an import that is decoding for 30 ms stalls its own
// write for as long. One worker, started on first use and unref'd while idle; the code is an inline CommonJS string
// (no extra file for the bundler). Errors come back with their errno code (ENOSPC stays ENOSPC).
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createCipheriv, createHash } = require('node:crypto');
const CHUNK = 1 << 20;
parentPort.on('message', (m) => {
  let fd = null;
  try {
    let aad = m.aad;
    if (!aad) {
      // the content hash first (the blob's name and its authenticated data), sent ahead of the write
      const sha = createHash('sha256').update(m.plain).digest('hex');
      parentPort.postMessage({ id: m.id, sha });
      aad = Buffer.from(m.aadPrefix + sha);
    }
    const c = createCipheriv('aes-256-gcm', m.key, m.iv);
    c.setAAD(aad);
    fd = fs.openSync(m.file, 'w', 0o600);
    const writeAll = (b) => { let at = 0; while (at < b.length) at += fs.writeSync(fd, b, at, b.length - at); };
    writeAll(m.header);
    for (let at = 0; at < m.plain.length; at += CHUNK) writeAll(c.update(m.plain.subarray(at, Math.min(m.plain.length, at + CHUNK))));
    c.final();
    writeAll(c.getAuthTag());
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    if (fd !== null) { try { fs.closeSync(fd); } catch {} }
    parentPort.postMessage({ id: m.id, error: { message: String((e && e.message) || e), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall } });
  }
});
`;

export interface SealJob {
  /** AES-256 key */
  key: Uint8Array;
  iv: Uint8Array;
  /** the authenticated data; absent: `aadPrefix` + the SHA-256 (hex) of `plain`, computed in the thread */
  aad?: Uint8Array;
  aadPrefix?: string;
  /** written before the ciphertext (magic, version, IV) */
  header: Uint8Array;
  /** must not change until the job settles (a SharedArrayBuffer-backed array is shared, anything else is copied) */
  plain: Uint8Array;
  /** created (mode 0600) or truncated; left behind on failure for the caller to remove */
  file: string;
}

type Pending = { resolve: () => void; reject: (e: Error) => void; sha?: (hex: string) => void };

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

function failAll(error: Error): void {
  for (const [id, p] of pending) {
    pending.delete(id);
    p.reject(error);
  }
}

function startWorker(): Worker {
  const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  w.on('message', (m: { id: number; sha?: string; error?: { message: string; code?: string; errno?: number; syscall?: string } }) => {
    const p = pending.get(m.id);
    if (!p) return;
    if (m.sha !== undefined) {
      p.sha?.(m.sha);
      return;
    }
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code, errno: m.error.errno, syscall: m.error.syscall }));
    else p.resolve();
  });
  const gone = (e: Error) => {
    if (worker === w) worker = undefined;
    failAll(e);
  };
  w.on('error', (e) => gone(e instanceof Error ? e : new Error(String(e))));
  w.on('exit', (code) => gone(new Error(`the blob writer thread stopped (exit code ${code})`)));
  w.unref();
  return w;
}

/** Seal `plain` into `file` and fsync it, in the blob writer thread. */
export function sealToFile(job: SealJob & { aad: Uint8Array }): Promise<void> {
  return post(job);
}

/**
 * The same for a blob whose hash is not known yet: the thread hashes `plain` (SHA-256), reports it (`sha256`,
 * as soon as it has it, while it goes on sealing and writing), and seals under `aadPrefix` + that hash.
 */
export function hashAndSealToFile(job: SealJob & { aadPrefix: string }): { sha256: Promise<string>; done: Promise<void> } {
  let onSha!: (hex: string) => void;
  let onShaFailed!: (e: Error) => void;
  const sha256 = new Promise<string>((resolve, reject) => {
    onSha = resolve;
    onShaFailed = reject;
  });
  const done = post({ ...job, aad: undefined }, onSha);
  done.catch(onShaFailed); // a failure before the hash came (a failure after it changes nothing)
  return { sha256, done };
}

function post(job: SealJob, sha?: (hex: string) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // A worker that cannot start throws here, which rejects this promise with that error.
    const w = worker ?? (worker = startWorker());
    const id = nextId++;
    pending.set(id, { resolve, reject, sha });
    w.ref();
    // Shared memory is read in place; anything else is copied once, exactly the view (a structured clone would copy
    // the whole ArrayBuffer behind it, e.g. a multipart response that one part is cut from), and the copy handed over.
    // (Not .slice(): on a Buffer that is a view, and handing its memory over would empty the caller's Buffer.)
    const plain = job.plain.buffer instanceof SharedArrayBuffer ? job.plain : new Uint8Array(job.plain);
    w.postMessage({ id, ...job, plain }, plain === job.plain ? [] : [plain.buffer as ArrayBuffer]);
  });
}
