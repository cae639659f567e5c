// The audit log: append-only (triggers refuse UPDATE and DELETE, migration 0050) and tamper-evident. Each entry
// stores the SHA-256 of the previous entry and its own SHA-256 over a canonical JSON of all its fields, including its
// id and that previous hash, so that changing, removing or reordering any entry breaks the chain at that entry.
// (Removing the newest entries leaves a shorter valid chain; the count and head hash that `cxr audit verify` prints
// are what to record elsewhere to detect that.)
import type { Database } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { AppError } from '../errors';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditActor {
  userId: number | null;
  username: string;
}

export interface AuditEntryInput {
  actor: AuditActor;
  /** dotted verb, e.g. 'auth.login', 'user.create', 'case.sign', 'annotations.save', 'report.save' */
  action: string;
  target?: { type: string; id: string | number } | null;
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: string;
  actorId: number | null;
  actorName: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
  prevSha256: string;
  sha256: string;
}

/** JSON with object keys sorted at every level and no whitespace: one byte string per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new AppError('BAD_REQUEST', 'canonical JSON has no NaN or Infinity');
    return JSON.stringify(value ?? null);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

function entryHash(e: Omit<AuditEntry, 'sha256'>): string {
  return sha256Hex(
    canonicalJson({ id: e.id, at: e.at, actorId: e.actorId, actorName: e.actorName, action: e.action, targetType: e.targetType, targetId: e.targetId, details: e.details, prev: e.prevSha256 }),
  );
}

/**
 * Append one entry. Runs in its own (nested, if the caller has one) transaction, so the previous hash it reads is the
 * one it chains to even with another process writing the same database; call it inside the transaction of the change
 * it records so that the change and its entry commit together.
 */
export function appendAudit(db: Database, entry: AuditEntryInput, now: string = new Date().toISOString()): AuditEntry {
  const details = JSON.parse(canonicalJson(entry.details ?? {})) as Record<string, unknown>;
  const run = db.transaction(() => {
    const last = db.prepare('SELECT id, sha256 FROM audit_log ORDER BY id DESC LIMIT 1').get() as { id: number; sha256: string } | undefined;
    const base: Omit<AuditEntry, 'sha256'> = {
      id: (last?.id ?? 0) + 1,
      at: now,
      actorId: entry.actor.userId,
      actorName: entry.actor.username,
      action: entry.action,
      targetType: entry.target?.type ?? null,
      targetId: entry.target ? String(entry.target.id) : null,
      details,
      prevSha256: last?.sha256 ?? GENESIS_HASH,
    };
    const full: AuditEntry = { ...base, sha256: entryHash(base) };
    db.prepare(
      'INSERT INTO audit_log (id, at, actor_ref, actor_name, action, target_type, target_id, details_json, prev_sha256, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(full.id, full.at, full.actorId, full.actorName, full.action, full.targetType, full.targetId, canonicalJson(full.details), full.prevSha256, full.sha256);
    return full;
  });
  return db.inTransaction ? run() : run.immediate();
}

interface AuditRow {
  id: number;
  at: string;
  actor_ref: number | null;
  actor_name: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details_json: string;
  prev_sha256: string;
  sha256: string;
}

function toEntry(r: AuditRow): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(r.details_json) as Record<string, unknown>;
  } catch {
    details = { unreadable: r.details_json };
  }
  return { id: r.id, at: r.at, actorId: r.actor_ref, actorName: r.actor_name, action: r.action, targetType: r.target_type, targetId: r.target_id, details, prevSha256: r.prev_sha256, sha256: r.sha256 };
}

export interface AuditQuery {
  targetType?: string;
  targetId?: string | number;
  /** newest first, at most this many */
  limit?: number;
  /** entries with id below this (paging back) */
  beforeId?: number;
}

export function listAudit(db: Database, q: AuditQuery = {}): AuditEntry[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.targetType !== undefined) {
    where.push('target_type = ?');
    args.push(q.targetType);
  }
  if (q.targetId !== undefined) {
    where.push('target_id = ?');
    args.push(String(q.targetId));
  }
  if (q.beforeId !== undefined) {
    where.push('id < ?');
    args.push(q.beforeId);
  }
  const limit = Math.min(Math.max(q.limit ?? 200, 1), 5000);
  const rows = db.prepare(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`).all(...args, limit) as AuditRow[];
  return rows.map(toEntry);
}

export type AuditVerdict =
  | { ok: true; entries: number; headSha256: string }
  | { ok: false; entries: number; brokenAt: number; reason: string };

/** Walk the whole chain in id order; the first entry whose link or own hash does not hold is named. */
export function verifyAudit(db: Database): AuditVerdict {
  let prev = GENESIS_HASH;
  let expectedId = 1;
  let count = 0;
  for (const r of db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as IterableIterator<AuditRow>) {
    count++;
    if (r.id !== expectedId) return { ok: false, entries: count, brokenAt: r.id, reason: `entry ${expectedId} is missing (the next entry is ${r.id})` };
    if (r.prev_sha256 !== prev) return { ok: false, entries: count, brokenAt: r.id, reason: `entry ${r.id} does not link to the entry before it (removed or altered)` };
    let details: Record<string, unknown>;
    try {
      details = JSON.parse(r.details_json) as Record<string, unknown>;
    } catch {
      return { ok: false, entries: count, brokenAt: r.id, reason: `entry ${r.id} has unreadable details` };
    }
    const e = toEntry(r);
    const recomputed = entryHash({ ...e, details });
    if (recomputed !== r.sha256 || canonicalJson(details) !== r.details_json) {
      return { ok: false, entries: count, brokenAt: r.id, reason: `entry ${r.id} (${r.action} at ${r.at}) was altered after it was written: its hash does not match its content` };
    }
    prev = r.sha256;
    expectedId++;
  }
  return { ok: true, entries: count, headSha256: prev };
}
