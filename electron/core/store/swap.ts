// Replacing a whole store (database, key file, blob folder) by a restored one, crash-safely. A restore first builds
// and checks the new store in a staging folder beside the database; this module then moves it into place. A marker
// file written before the first move and removed after the last lets the next CaseStore.open finish a swap that a
// crash or power cut interrupted, so the store is always either the old one or the restored one, never a mixture.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** The parts of a store, as names relative to the database's folder. */
export function storeParts(dbPath: string): { db: string; key: string; blobs: string } {
  const base = path.basename(dbPath);
  return { db: base, key: `${base}.key`, blobs: `${base}.blobs` };
}

export function pendingMarkerFor(dbPath: string): string {
  return `${dbPath}.restore-pending`;
}

interface Pending {
  /** the staged store: a folder holding the three parts under the database's names */
  staging: string;
  /** where the replaced store is kept */
  previous: string;
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Windows cannot open a folder for fsync; NTFS journals the renames
  }
}

/** Ask for `staging` to replace the store at `dbPath` (now, or at its next open). Returns where the old one will go. */
export function schedulePendingSwap(dbPath: string, staging: string): string {
  const dir = path.dirname(dbPath);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const previous = path.join(dir, `before-restore-${stamp}-${randomBytes(3).toString('hex')}`);
  const marker = pendingMarkerFor(dbPath);
  // A second restore staged before the restart replaces the first: its staging folder is no longer needed.
  if (fs.existsSync(marker)) {
    const earlier = JSON.parse(fs.readFileSync(marker, 'utf8')) as Pending;
    if (earlier.staging !== staging) fs.rmSync(earlier.staging, { recursive: true, force: true });
  }
  const tmp = `${marker}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ staging, previous } satisfies Pending));
  const fd = fs.openSync(tmp, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, marker);
  fsyncDir(dir);
  return previous;
}

/**
 * Finish a scheduled or interrupted swap, if any. Each step is "move if the source is still there", so running it
 * again after a crash continues where it stopped. The database file moves last into place: until then the store
 * does not open as the restored one. Returns the folder holding the replaced store, or null if nothing was pending.
 */
export function completePendingSwap(dbPath: string): { previous: string } | null {
  const marker = pendingMarkerFor(dbPath);
  if (!fs.existsSync(marker)) return null;
  const p = JSON.parse(fs.readFileSync(marker, 'utf8')) as Pending;
  const dir = path.dirname(dbPath);
  const parts = storeParts(dbPath);
  const stagedDb = path.join(p.staging, parts.db);
  // A staged store that is already gone means the swap finished but the marker remained.
  if (fs.existsSync(stagedDb)) {
    fs.mkdirSync(p.previous, { recursive: true });
    // 1. the current store out of the way (the database first, so it can no longer be opened half-replaced). A part
    //    moves out only while its restored counterpart still waits in staging: after a crash in step 2, the part
    //    already in place is the restored one and stays.
    for (const name of [parts.db, `${parts.db}-wal`, `${parts.db}-shm`, parts.key, parts.blobs]) {
      const from = path.join(dir, name);
      const waiting = name === parts.key || name === parts.blobs ? fs.existsSync(path.join(p.staging, name)) : true;
      if (waiting && fs.existsSync(from)) fs.renameSync(from, path.join(p.previous, name));
    }
    // 2. the restored store in (the database last)
    for (const name of [parts.blobs, parts.key, parts.db]) {
      const from = path.join(p.staging, name);
      if (fs.existsSync(from)) fs.renameSync(from, path.join(dir, name));
    }
    fsyncDir(dir);
  }
  fs.rmSync(p.staging, { recursive: true, force: true });
  fs.rmSync(marker, { force: true });
  return { previous: p.previous };
}

const STALE_WORK_MS = 24 * 3600 * 1000;

/**
 * Remove staging and snapshot folders left by a backup or restore that a crash cut short (`.backup-*`,
 * `.restore-*` beside the database). Only those untouched for a day: another process may be working in a fresh one.
 */
export function sweepStaleWork(dbPath: string, now = Date.now()): number {
  const dir = path.dirname(dbPath);
  const marker = pendingMarkerFor(dbPath);
  const pending = fs.existsSync(marker) ? (JSON.parse(fs.readFileSync(marker, 'utf8')) as Pending).staging : null;
  let removed = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith('.backup-') && !name.startsWith('.restore-')) continue;
    const p = path.join(dir, name);
    if (p === pending) continue;
    try {
      if (now - fs.statSync(p).mtimeMs < STALE_WORK_MS) continue;
      fs.rmSync(p, { recursive: true, force: true });
      removed++;
    } catch {
      // gone already, or not ours to remove: leave it
    }
  }
  return removed;
}
