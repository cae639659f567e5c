// How every `cxr` command finds and unlocks the case store: --db, else the station's own (station.json or the
// default folder), unlocked by the key file's plain protector or the recovery passphrase in CXR_PASSPHRASE.
import path from 'node:path';
import { CaseStore } from '../core/store/index';
import type { KeyAccess } from '../core/crypto/index';
import { defaultDbPath } from '../core/paths';

/** What the CLI can offer to unlock a store: the key file's plain protector, or the recovery passphrase. */
export function cliKeyAccess(env: Record<string, string | undefined> = process.env): KeyAccess {
  return env.CXR_PASSPHRASE ? { passphrase: env.CXR_PASSPHRASE } : {};
}

/** The database a command works on: --db, else the station's default. */
export function cliDbPath(db: string | undefined): string {
  return path.resolve(db ?? defaultDbPath(process.platform, process.env));
}

export function openCliStore(db: string | undefined): CaseStore {
  return CaseStore.open(cliDbPath(db), { key: cliKeyAccess() });
}
