// The blob writer thread: what it writes is a sealed blob in DataKey.sealBlob's format, whatever memory the bytes
// live in, and a failed write comes back with its errno code (ENOSPC stays ENOSPC, so the store says DISK_FULL).
// Run: node --import tsx --test electron/core/crypto/sealWorker.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { DataKey } from './index';
import { tempDir } from '../../testing/index';

test('a blob sealed to a file in the writer thread opens like sealBlob output, bound to its name', async () => {
  const key = DataKey.generate();
  const dir = tempDir('cxr-seal-');
  const plain = randomBytes(3 * (1 << 20) + 12345); // several of the worker's 1 MB pieces and a remainder
  const shared = new Uint8Array(new SharedArrayBuffer(plain.length));
  shared.set(plain);
  for (const [name, bytes] of [['copied', new Uint8Array(plain)], ['buffer', plain], ['shared', shared], ['empty', new Uint8Array(0)]] as const) {
    const file = path.join(dir, name);
    await key.sealBlobToFile(`originals:${name}`, bytes, file);
    const sealed = fs.readFileSync(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(key.openBlob(`originals:${name}`, sealed), Buffer.from(bytes));
    assert.equal(key.openBlob(`pixels:${name}`, sealed), null, 'another name does not open it');
    assert.equal(DataKey.generate().openBlob(`originals:${name}`, sealed), null, 'another key does not open it');
    assert.equal(bytes.byteLength, name === 'empty' ? 0 : plain.length, "the caller's bytes are still there");
  }
  // the same format as the in-thread sealer
  assert.deepEqual(key.openBlob('x', key.sealBlob('x', plain)), plain);
});

test('a failed write comes back with its code, and the thread goes on', async () => {
  const key = DataKey.generate();
  const dir = tempDir('cxr-seal-');
  await assert.rejects(key.sealBlobToFile('a', new Uint8Array(10), path.join(dir, 'no', 'such', 'dir')), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
  if (fs.existsSync('/dev/full')) {
    await assert.rejects(key.sealBlobToFile('a', randomBytes(1 << 16), '/dev/full'), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOSPC');
  }
  const file = path.join(dir, 'after');
  await key.sealBlobToFile('a', new Uint8Array([1, 2, 3]), file);
  assert.deepEqual(key.openBlob('a', fs.readFileSync(file)), Buffer.from([1, 2, 3]));
});

test('bytes not hashed yet: the thread reports their SHA-256 and seals under it', async () => {
  const key = DataKey.generate();
  const dir = tempDir('cxr-seal-');
  const plain = randomBytes((1 << 20) + 7);
  const file = path.join(dir, 'orig');
  const job = key.hashAndSealBlobToFile('originals', plain, file);
  const sha = await job.sha256;
  assert.equal(sha, createHash('sha256').update(plain).digest('hex'));
  await job.done;
  assert.deepEqual(key.openBlob(`originals:${sha}`, fs.readFileSync(file)), plain);
  // a failure after the hash: `done` rejects with the code, the hash stays as reported
  const bad = key.hashAndSealBlobToFile('originals', plain, path.join(dir, 'missing', 'x'));
  assert.equal(await bad.sha256, sha);
  await assert.rejects(bad.done, (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
});
