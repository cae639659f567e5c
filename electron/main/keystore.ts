// The operating system's key store, through Electron's safeStorage, as the KeyWrapper that core uses to protect
// the case store's data key (core never imports electron). DPAPI on Windows (bound to the Windows user), the
// Keychain on macOS, the desktop keyring (libsecret / KWallet) on Linux.
import type { KeyWrapper } from '../core/crypto/index';

/** The part of Electron's safeStorage used here (typed locally so tests can pass their own). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
  getSelectedStorageBackend?(): string;
}

/**
 * A KeyWrapper over safeStorage, or null where it gives no real protection: not available at all, or Linux without
 * a keyring, where Chromium falls back to 'basic_text' (a fixed, public key) and wrapping would only pretend.
 */
export function osKeyWrapper(safe: SafeStorageLike, platform: NodeJS.Platform = process.platform): KeyWrapper | null {
  if (!safe.isEncryptionAvailable()) return null;
  const backend = platform === 'linux' && safe.getSelectedStorageBackend ? safe.getSelectedStorageBackend() : null;
  if (backend === 'basic_text' || backend === 'unknown') return null;
  const name = platform === 'win32' ? 'Windows DPAPI' : platform === 'darwin' ? 'macOS Keychain' : `desktop keyring (${backend ?? 'unknown'})`;
  return {
    name,
    // safeStorage takes strings: the key travels as base64 text
    wrap: (plain) => safe.encryptString(plain.toString('base64')),
    unwrap: (wrapped) => Buffer.from(safe.decryptString(wrapped), 'base64'),
  };
}
