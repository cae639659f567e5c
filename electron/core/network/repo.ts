// The network tables of the case database (migration 0080): settings, archives, what arrived, and the outgoing
// queue. Every SQL statement of the network service is here.
import type { Database } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { NetworkSettings, RemoteInput, type QueueCounts, type QueueItem, type ReceivedView, type RemoteView, type SendKind, type SendState } from '../../contract/index';

export const DEFAULT_SETTINGS: NetworkSettings = {
  receiver: { enabled: false, aeTitle: 'CXRSTATION', port: 11112, whitelist: [] },
  autoSendOnSign: true,
};

/** What the service needs to talk to an archive (the password included, which RemoteView never shows). */
export interface RemoteConfig extends RemoteView {
  password: string | null;
}

interface RemoteRow {
  id: number;
  name: string;
  kind: 'dimse' | 'dicomweb';
  host: string | null;
  port: number | null;
  ae_title: string | null;
  retrieve: 'C-GET' | 'C-MOVE';
  url: string | null;
  username: string | null;
  password: string | null;
  send_results: number;
}

interface QueueRow {
  id: number;
  remote_ref: number;
  remote_name: string;
  case_ref: number | null;
  kind: SendKind;
  sop_instance_uid: string;
  sop_class_uid: string;
  study_instance_uid: string;
  series_instance_uid: string;
  bytes: number;
  state: SendState;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  uncertain: number;
  verified_by: 'response' | 'query' | null;
  enqueued_by: string;
  created_at: string;
  sent_at: string | null;
}

/** A queued send with what the sender needs (its payload is read separately, only when it goes out). */
export interface QueueEntry extends QueueItem {
  sopClassUid: string;
  seriesInstanceUid: string;
  uncertain: boolean;
}

export interface NewSend {
  remoteId: number;
  caseId: number | null;
  kind: SendKind;
  sopInstanceUid: string;
  sopClassUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  payload: Uint8Array;
  enqueuedBy: string;
}

const QUEUE_SELECT = `
  SELECT q.id, q.remote_ref, r.name AS remote_name, q.case_ref, q.kind, q.sop_instance_uid, q.sop_class_uid,
         q.study_instance_uid, q.series_instance_uid, length(q.payload) AS bytes, q.state, q.attempts,
         q.next_attempt_at, q.last_error, q.uncertain, q.verified_by, q.enqueued_by, q.created_at, q.sent_at
  FROM send_queue q JOIN remotes r ON r.id = q.remote_ref`;

export class NetworkRepo {
  constructor(private readonly db: Database) {}

  // ---- settings ------------------------------------------------------------------------------------------

  settings(): NetworkSettings {
    const rows = this.db.prepare('SELECT key, value_json FROM network_settings').all() as { key: string; value_json: string }[];
    const stored: Record<string, unknown> = {};
    for (const r of rows) stored[r.key] = JSON.parse(r.value_json);
    // A stored value that no longer fits the schema (hand-edited, older version) falls back to the default.
    const merged = { ...DEFAULT_SETTINGS, ...stored, receiver: { ...DEFAULT_SETTINGS.receiver, ...((stored.receiver as object) ?? {}) } };
    const parsed = NetworkSettings.safeParse(merged);
    return parsed.success ? parsed.data : DEFAULT_SETTINGS;
  }

  saveSettings(s: NetworkSettings, now = new Date().toISOString()): void {
    const checked = NetworkSettings.safeParse(s);
    if (!checked.success) throw new AppError('NETWORK_SETTINGS_INVALID', `Network settings refused: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const put = this.db.prepare('INSERT INTO network_settings (key, value_json, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at');
    this.db.transaction(() => {
      put.run('receiver', JSON.stringify(checked.data.receiver), now);
      put.run('autoSendOnSign', JSON.stringify(checked.data.autoSendOnSign), now);
    })();
  }

  // ---- remotes -------------------------------------------------------------------------------------------

  listRemotes(): RemoteConfig[] {
    const rows = this.db.prepare('SELECT * FROM remotes WHERE removed_at IS NULL ORDER BY name').all() as RemoteRow[];
    return rows.map(toRemote);
  }

  getRemote(id: number): RemoteConfig {
    const row = this.db.prepare('SELECT * FROM remotes WHERE id = ? AND removed_at IS NULL').get(id) as RemoteRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', `There is no archive with id ${id}.`);
    return toRemote(row);
  }

  saveRemote(input: RemoteInput, now = new Date().toISOString()): RemoteConfig {
    const r = RemoteInput.parse(input);
    if (r.kind === 'dimse') {
      if (!r.host || !r.port || !r.aeTitle) throw new AppError('NETWORK_SETTINGS_INVALID', `The DIMSE archive "${r.name}" needs a host, a port and its AE title.`);
    } else {
      let url: URL;
      try {
        url = new URL(r.url ?? '');
      } catch {
        throw new AppError('NETWORK_SETTINGS_INVALID', `The DICOMweb archive "${r.name}" needs its base URL (for example http://pacs:8042/dicom-web).`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('NETWORK_SETTINGS_INVALID', `The DICOMweb URL must start with http:// or https:// (got ${url.protocol}).`);
    }
    const clash = this.db.prepare('SELECT id FROM remotes WHERE name = ? AND removed_at IS NULL AND id IS NOT ?').get(r.name, r.id ?? null) as { id: number } | undefined;
    if (clash) throw new AppError('NETWORK_SETTINGS_INVALID', `Another archive is already called "${r.name}".`);
    const url = r.kind === 'dicomweb' ? (r.url ?? '').replace(/\/+$/, '') : null;
    const dimse = r.kind === 'dimse';
    if (r.id === undefined) {
      // A removed archive keeps its row (queued sends refer to it); its name is freed by renaming it.
      this.db.prepare("UPDATE remotes SET name = name || ' (removed ' || id || ')' WHERE name = ? AND removed_at IS NOT NULL").run(r.name);
      const info = this.db
        .prepare('INSERT INTO remotes (name, kind, host, port, ae_title, retrieve, url, username, password, send_results, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(r.name, r.kind, dimse ? r.host : null, dimse ? r.port : null, dimse ? r.aeTitle : null, r.retrieve, url, dimse ? null : r.username, dimse ? null : (r.password ?? null), r.sendResults ? 1 : 0, now, now);
      return this.getRemote(Number(info.lastInsertRowid));
    }
    this.getRemote(r.id);
    this.db
      .prepare('UPDATE remotes SET name = ?, kind = ?, host = ?, port = ?, ae_title = ?, retrieve = ?, url = ?, username = ?, send_results = ?, updated_at = ? WHERE id = ?')
      .run(r.name, r.kind, dimse ? r.host : null, dimse ? r.port : null, dimse ? r.aeTitle : null, r.retrieve, url, dimse ? null : r.username, r.sendResults ? 1 : 0, now, r.id);
    if (r.password !== undefined || dimse) this.db.prepare('UPDATE remotes SET password = ? WHERE id = ?').run(dimse ? null : r.password, r.id);
    return this.getRemote(r.id);
  }

  /** Remove an archive from the lists; its pending sends fail with a reason (nothing is silently dropped). */
  removeRemote(id: number, now = new Date().toISOString()): boolean {
    const info = this.db.prepare('UPDATE remotes SET removed_at = ? WHERE id = ? AND removed_at IS NULL').run(now, id);
    if (info.changes) {
      this.db.prepare("UPDATE send_queue SET state = 'failed', last_error = 'The archive was removed from the settings.', next_attempt_at = NULL, updated_at = ? WHERE remote_ref = ? AND state IN ('pending', 'sending')").run(now, id);
    }
    return info.changes > 0;
  }

  // ---- received ------------------------------------------------------------------------------------------

  recordReceived(r: { via: 'receiver' | 'retrieve'; sopInstanceUid: string | null; sopClassUid: string | null; callingAe: string | null; peerAddress: string | null; remoteId: number | null; outcome: 'imported' | 'duplicate' | 'refused'; caseId: number | null; imageId: number | null; message: string | null }, now = new Date().toISOString()): void {
    this.db
      .prepare('INSERT INTO received_instances (via, sop_instance_uid, sop_class_uid, calling_ae, peer_address, remote_ref, outcome, case_ref, image_ref, message, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.via, r.sopInstanceUid, r.sopClassUid, r.callingAe, r.peerAddress, r.remoteId, r.outcome, r.caseId, r.imageId, r.message, now);
  }

  listReceived(limit: number): ReceivedView[] {
    const rows = this.db
      .prepare(
        `SELECT ri.id, ri.via, ri.sop_instance_uid, ri.calling_ae, ri.peer_address, r.name AS remote_name, ri.outcome, ri.case_ref, ri.message, ri.received_at
         FROM received_instances ri LEFT JOIN remotes r ON r.id = ri.remote_ref ORDER BY ri.received_at DESC, ri.id DESC LIMIT ?`,
      )
      .all(limit) as { id: number; via: 'receiver' | 'retrieve'; sop_instance_uid: string | null; calling_ae: string | null; peer_address: string | null; remote_name: string | null; outcome: 'imported' | 'duplicate' | 'refused'; case_ref: number | null; message: string | null; received_at: string }[];
    return rows.map((r) => ({ id: r.id, via: r.via, sopInstanceUid: r.sop_instance_uid, callingAe: r.calling_ae, peerAddress: r.peer_address, remoteName: r.remote_name, outcome: r.outcome, caseId: r.case_ref, message: r.message, receivedAt: r.received_at }));
  }

  // ---- outgoing queue ------------------------------------------------------------------------------------

  /** Queue a send; the same instance already queued for the same archive is returned unchanged (never twice). */
  enqueue(s: NewSend, now = new Date().toISOString()): { item: QueueEntry; added: boolean } {
    const existing = this.db.prepare('SELECT id FROM send_queue WHERE remote_ref = ? AND sop_instance_uid = ?').get(s.remoteId, s.sopInstanceUid) as { id: number } | undefined;
    if (existing) return { item: this.queueItem(existing.id), added: false };
    const sha = createHash('sha256').update(s.payload).digest('hex');
    const info = this.db
      .prepare(
        `INSERT INTO send_queue (remote_ref, case_ref, kind, sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid, payload, payload_sha256, state, attempts, next_attempt_at, enqueued_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
      )
      .run(s.remoteId, s.caseId, s.kind, s.sopInstanceUid, s.sopClassUid, s.studyInstanceUid, s.seriesInstanceUid, s.payload, sha, now, s.enqueuedBy, now, now);
    return { item: this.queueItem(Number(info.lastInsertRowid)), added: true };
  }

  queueItem(id: number): QueueEntry {
    const row = this.db.prepare(`${QUEUE_SELECT} WHERE q.id = ?`).get(id) as QueueRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', `There is no queued send with id ${id}.`);
    return toQueueEntry(row);
  }

  listQueue(q: { state?: SendState; caseId?: number; limit: number }): QueueEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.state) (where.push('q.state = ?'), args.push(q.state));
    if (q.caseId !== undefined) (where.push('q.case_ref = ?'), args.push(q.caseId));
    const sql = `${QUEUE_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY q.id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as QueueRow[]).map(toQueueEntry);
  }

  queueCounts(): QueueCounts {
    const rows = this.db.prepare('SELECT state, COUNT(*) AS n FROM send_queue GROUP BY state').all() as { state: SendState; n: number }[];
    const c: QueueCounts = { pending: 0, sending: 0, sent: 0, failed: 0 };
    for (const r of rows) c[r.state] = r.n;
    return c;
  }

  /** The next send that is due, claimed (state 'sending') in the same transaction so that no other worker takes it. */
  claimDue(now = new Date().toISOString()): QueueEntry | null {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT id FROM send_queue WHERE state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY next_attempt_at, id LIMIT 1").get(now) as { id: number } | undefined;
      if (!row) return null;
      this.db.prepare("UPDATE send_queue SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?").run(now, row.id);
      return this.queueItem(row.id);
    }).immediate();
  }

  /** When the next pending send is due (null: nothing pending). */
  nextDue(): string | null {
    const row = this.db.prepare("SELECT MIN(next_attempt_at) AS t FROM send_queue WHERE state = 'pending'").get() as { t: string | null };
    return row.t;
  }

  payload(id: number): Uint8Array {
    const row = this.db.prepare('SELECT payload FROM send_queue WHERE id = ?').get(id) as { payload: Buffer } | undefined;
    if (!row) throw new AppError('NOT_FOUND', `There is no queued send with id ${id}.`);
    return new Uint8Array(row.payload.buffer, row.payload.byteOffset, row.payload.byteLength);
  }

  markSent(id: number, verifiedBy: 'response' | 'query', now = new Date().toISOString()): void {
    this.db.prepare("UPDATE send_queue SET state = 'sent', verified_by = ?, sent_at = ?, updated_at = ?, next_attempt_at = NULL, uncertain = 0, last_error = NULL WHERE id = ?").run(verifiedBy, now, now, id);
  }

  markRetry(id: number, error: string, nextAttemptAt: string, uncertain: boolean, now = new Date().toISOString()): void {
    this.db.prepare("UPDATE send_queue SET state = 'pending', last_error = ?, next_attempt_at = ?, uncertain = MAX(uncertain, ?), updated_at = ? WHERE id = ?").run(error, nextAttemptAt, uncertain ? 1 : 0, now, id);
  }

  markFailed(id: number, error: string, uncertain: boolean, now = new Date().toISOString()): void {
    this.db.prepare("UPDATE send_queue SET state = 'failed', last_error = ?, next_attempt_at = NULL, uncertain = MAX(uncertain, ?), updated_at = ? WHERE id = ?").run(error, uncertain ? 1 : 0, now, id);
  }

  /** A failed or waiting send made due now; its attempt count starts again, its uncertainty is kept. */
  retryNow(id: number, now = new Date().toISOString()): QueueEntry {
    const item = this.queueItem(id);
    if (item.state === 'sent') throw new AppError('BAD_REQUEST', `This ${item.kind.toUpperCase()} was already delivered to ${item.remoteName}; it is not sent again.`);
    if (item.state === 'sending') return item;
    const removed = this.db.prepare('SELECT removed_at FROM remotes WHERE id = ?').get(item.remoteId) as { removed_at: string | null };
    if (removed.removed_at) throw new AppError('BAD_REQUEST', `The archive ${item.remoteName} was removed from the settings.`);
    this.db.prepare("UPDATE send_queue SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?").run(now, now, id);
    return this.queueItem(id);
  }

  /**
   * After a crash or a kill mid-send, a 'sending' row may or may not have reached the archive: make it pending,
   * uncertain, so that the next attempt asks the archive first.
   */
  recoverInterrupted(now = new Date().toISOString()): number {
    return this.db.prepare("UPDATE send_queue SET state = 'pending', uncertain = 1, next_attempt_at = ?, last_error = COALESCE(last_error, 'interrupted (the station stopped during the send)'), updated_at = ? WHERE state = 'sending'").run(now, now).changes;
  }

  /** SOP Instance UIDs this station queued for a study (to tell its own results from other stations'). */
  queuedInstancesOfStudy(studyInstanceUid: string): Set<string> {
    const rows = this.db.prepare('SELECT sop_instance_uid FROM send_queue WHERE study_instance_uid = ?').all(studyInstanceUid) as { sop_instance_uid: string }[];
    return new Set(rows.map((r) => r.sop_instance_uid));
  }

  studyOfCase(caseId: number): { studyInstanceUid: string; patientId: string } {
    const row = this.db.prepare('SELECT study_instance_uid, patient_id FROM studies WHERE id = ?').get(caseId) as { study_instance_uid: string; patient_id: string } | undefined;
    if (!row) throw new AppError('NOT_FOUND', `There is no case ${caseId}.`);
    return { studyInstanceUid: row.study_instance_uid, patientId: row.patient_id };
  }

  /** The study's latest case (a signed case's follow-up comes after it), or null when the study is not here. */
  caseOfStudy(studyInstanceUid: string): number | null {
    const row = this.db.prepare('SELECT id FROM studies WHERE study_instance_uid = ? ORDER BY id DESC LIMIT 1').get(studyInstanceUid) as { id: number } | undefined;
    return row?.id ?? null;
  }
}

function toRemote(r: RemoteRow): RemoteConfig {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    host: r.host,
    port: r.port,
    aeTitle: r.ae_title,
    retrieve: r.retrieve,
    url: r.url,
    username: r.username,
    hasPassword: r.password !== null && r.password !== '',
    sendResults: r.send_results === 1,
    password: r.password,
  };
}

export function publicRemote(r: RemoteConfig): RemoteView {
  const { password: _password, ...view } = r;
  return view;
}

function toQueueEntry(r: QueueRow): QueueEntry {
  return {
    id: r.id,
    remoteId: r.remote_ref,
    remoteName: r.remote_name,
    caseId: r.case_ref,
    kind: r.kind,
    sopInstanceUid: r.sop_instance_uid,
    sopClassUid: r.sop_class_uid,
    studyInstanceUid: r.study_instance_uid,
    seriesInstanceUid: r.series_instance_uid,
    bytes: r.bytes,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    uncertain: r.uncertain === 1,
    verifiedBy: r.verified_by,
    enqueuedBy: r.enqueued_by,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  };
}

export function publicQueueItem(e: QueueEntry): QueueItem {
  const { sopClassUid: _c, seriesInstanceUid: _s, uncertain: _u, ...item } = e;
  return item;
}
