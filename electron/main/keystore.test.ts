// The OS key-store wrapper: used only where safeStorage really protects (never Linux's 'basic_text' fallback).
// Run: node --import tsx --test electron/main/keystore.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { osKeyWrapper, type SafeStorageLike } from './keystore';

/** A stand-in for Electron's safeStorage (no Electron binary here): AES-GCM under a key it holds. */
function fakeSafeStorage(available: boolean, backend: string): SafeStorageLike {
  const k = randomBytes(32);
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', k, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(w) {
      const d = createDecipheriv('aes-256-gcm', k, w.subarray(0, 12));
      d.setAuthTag(w.subarray(12, 28));
      return Buffer.concat([d.update(w.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

test('no wrapper where safeStorage is unavailable or only pretends (Linux basic_text)', () => {
  assert.equal(osKeyWrapper(fakeSafeStorage(false, 'gnome_libsecret'), 'linux'), null);
  assert.equal(osKeyWrapper(fakeSafeStorage(true, 'basic_text'), 'linux'), null);
});

test('a real key store wraps and unwraps the 32-byte data key, and names itself', () => {
  const w = osKeyWrapper(fakeSafeStorage(true, 'gnome_libsecret'), 'linux')!;
  assert.match(w.name, /gnome_libsecret/);
  const key = randomBytes(32);
  const wrapped = w.wrap(key);
  assert.equal(wrapped.indexOf(key), -1);
  assert.deepEqual(w.unwrap(wrapped), key);
  assert.equal(osKeyWrapper(fakeSafeStorage(true, 'unknown'), 'win32')!.name, 'Windows DPAPI');
});
