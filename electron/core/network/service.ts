// The station's network service: owns the receiver and the outgoing queue for one case store, and answers the
// network calls (archives, query, retrieve, send, results of other stations). The Workstation starts it and stops
// it in close(); the CLI uses it the same way.
import { AppError, isAppError, toErrorInfo } from '../errors';
import { importBytes } from '../importing/index';
import type { CaseStore } from '../store/index';
import { appendAudit, type AuditActor } from '../accounts/index';
import { gatherExportInput } from '../exports/gather';
import { buildSr } from '../exports/sr';
import { buildSeg } from '../exports/seg';
import { buildPdf } from '../exports/pdf';
import { buildEncapsulatedPdf } from '../exports/pdfDicom';
import { uidFromText } from '../exports/dicom';
import type { ArchiveResult, NetworkSettings, QueueCounts, ReceiverStatus, RetrieveResult, RemoteStudy, SendKind, StudyQuery } from '../../contract/index';
import { StudyQuery as StudyQuerySchema } from '../../contract/index';
import type { Archive } from './archive';
import { DimseArchive } from './dimse';
import { DicomwebArchive } from './dicomweb';
import { dateRange, readIdentity, resultKind } from './dicom';
import { DicomReceiver, type ReceivedInstance, type StoreVerdict } from './receiver';
import { OutgoingQueue, DEFAULT_TIMING, type QueueTiming } from './queue';
import { NetworkRepo, publicQueueItem, type QueueEntry, type RemoteConfig } from './repo';

export interface NetworkHooks {
  /** cases changed (new images arrived) */
  casesChanged(caseIds: number[]): void;
  /** look for images awaiting analysis now */
  kickAnalysis(): void;
  receiverChanged?(s: ReceiverStatus): void;
  received?(r: { caseId: number | null; outcome: 'imported' | 'duplicate' | 'refused'; callingAe: string | null }): void;
  queueChanged?(r: { counts: QueueCounts; changedId: number | null; problem?: { caseId: number; code: string; message: string } }): void;
}

export interface NetworkServiceOptions {
  timing?: QueueTiming;
  /** per-operation network timeout (ms) */
  timeoutMs?: number;
}

const DECODE_FAILURES = new Set(['NOT_AN_IMAGE', 'PNG_CORRUPT', 'JPEG_CORRUPT', 'DICOM_CORRUPT', 'DICOM_TRUNCATED', 'DICOM_NO_PIXEL_DATA', 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX', 'DICOM_UNSUPPORTED_IMAGE', 'DICOM_DECODE_FAILED', 'DECODE_LIMIT', 'OUT_OF_SCOPE', 'EMPTY_FILE', 'FILE_TOO_LARGE']);

export class NetworkService {
  readonly repo: NetworkRepo;
  readonly queue: OutgoingQueue;
  private receiver: DicomReceiver | null = null;
  private receiverError: { code: string; message: string } | null = null;
  private closed = false;
  /** automatic sends on sign-off still being built (close() waits for them) */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly store: CaseStore,
    private readonly hooks: NetworkHooks,
    private readonly options: NetworkServiceOptions = {},
  ) {
    this.repo = new NetworkRepo(store.db);
    this.queue = new OutgoingQueue(this.repo, (id) => this.archive(this.repo.getRemote(id)), (id) => this.hooks.queueChanged?.({ counts: this.repo.queueCounts(), changedId: id }), options.timing ?? DEFAULT_TIMING);
  }

  /** Start the receiver if it is enabled, and the queue. A receiver that cannot start is reported, not fatal. */
  async start(): Promise<void> {
    this.queue.start();
    const s = this.repo.settings();
    if (s.receiver.enabled) await this.startReceiver(s);
  }

  settings(): NetworkSettings {
    return this.repo.settings();
  }

  /** Save the settings and apply them: the receiver is restarted when its AE title, port or whitelist changed. */
  async setSettings(next: NetworkSettings): Promise<void> {
    const before = this.repo.settings();
    this.repo.saveSettings(next);
    const r = next.receiver;
    const same = before.receiver.enabled === r.enabled && before.receiver.aeTitle === r.aeTitle && before.receiver.port === r.port && before.receiver.whitelist.join('\\') === r.whitelist.join('\\');
    if (same && (this.receiver || !r.enabled)) return;
    await this.stopReceiver();
    if (r.enabled) await this.startReceiver(this.repo.settings());
    else this.hooks.receiverChanged?.(this.receiverStatus());
  }

  receiverStatus(): ReceiverStatus {
    const r = this.receiver;
    return {
      running: !!r?.running,
      aeTitle: r?.aeTitle ?? null,
      port: r?.port ?? null,
      since: r?.since ?? null,
      error: this.receiverError,
      received: r?.received ?? 0,
    };
  }

  /** Resolves when the receiver has been quiet a moment (see DicomReceiver.quiet); at once when it is off. */
  async receiverQuiet(): Promise<void> {
    await this.receiver?.quiet();
  }

  /** Resolves when every instance the receiver took so far is imported. */
  async receiverIdle(): Promise<void> {
    await this.receiver?.idle();
  }

  private async startReceiver(s: NetworkSettings): Promise<void> {
    if (this.closed) return;
    const receiver = new DicomReceiver({
      aeTitle: s.receiver.aeTitle,
      port: s.receiver.port,
      whitelist: s.receiver.whitelist,
      onInstance: (i) => this.takeReceived(i),
      onRefused: (r) => {
        this.repo.recordReceived({ via: 'receiver', sopInstanceUid: null, sopClassUid: null, callingAe: r.callingAeTitle, peerAddress: r.peerAddress, remoteId: null, outcome: 'refused', caseId: null, imageId: null, message: `association refused: ${r.reason}` });
        this.hooks.received?.({ caseId: null, outcome: 'refused', callingAe: r.callingAeTitle });
      },
    });
    try {
      await receiver.start();
      this.receiver = receiver;
      this.receiverError = null;
    } catch (e) {
      this.receiverError = toErrorInfo(e);
    }
    this.hooks.receiverChanged?.(this.receiverStatus());
  }

  private async stopReceiver(): Promise<void> {
    const r = this.receiver;
    this.receiver = null;
    this.receiverError = null;
    await r?.stop();
  }

  /** A pushed instance through the normal import path; the verdict becomes the C-STORE status. */
  private async takeReceived(i: ReceivedInstance): Promise<StoreVerdict> {
    const base = { via: 'receiver' as const, sopInstanceUid: i.sopInstanceUid, sopClassUid: i.sopClassUid, callingAe: i.callingAeTitle, peerAddress: i.peerAddress, remoteId: null };
    try {
      const outcome = await importBytes(this.store, i.part10, `${i.callingAeTitle || 'dicom'}_${i.sopInstanceUid}.dcm`);
      const imported = outcome.status === 'imported';
      this.repo.recordReceived({ ...base, outcome: outcome.status, caseId: outcome.caseId, imageId: outcome.imageId, message: imported ? null : outcome.reason });
      if (imported) {
        this.hooks.casesChanged([outcome.caseId]);
        this.hooks.kickAnalysis();
      }
      this.hooks.received?.({ caseId: outcome.caseId, outcome: outcome.status, callingAe: i.callingAeTitle });
      return { status: imported ? 'stored' : 'duplicate' };
    } catch (e) {
      const info = toErrorInfo(e);
      this.repo.recordReceived({ ...base, outcome: 'refused', caseId: null, imageId: null, message: `${info.code}: ${info.message}` });
      this.hooks.received?.({ caseId: null, outcome: 'refused', callingAe: i.callingAeTitle });
      const failure = info.code === 'DISK_FULL' ? 'out-of-resources' : DECODE_FAILURES.has(info.code) ? 'cannot-understand' : 'processing';
      return { status: 'refused', failure, comment: `${info.code}: ${info.message}` };
    }
  }

  // ---- archives ------------------------------------------------------------------------------------------

  archive(remote: RemoteConfig): Archive {
    const timeoutMs = this.options.timeoutMs;
    if (remote.kind === 'dimse') {
      return new DimseArchive({ name: remote.name, host: remote.host!, port: remote.port!, aeTitle: remote.aeTitle!, callingAeTitle: this.repo.settings().receiver.aeTitle, retrieve: remote.retrieve, timeoutMs });
    }
    return new DicomwebArchive({ name: remote.name, url: remote.url!, username: remote.username, password: remote.password, timeoutMs });
  }

  async echo(remoteId: number): Promise<{ ms: number }> {
    const t = performance.now();
    await this.archive(this.repo.getRemote(remoteId)).echo();
    return { ms: Math.round(performance.now() - t) };
  }

  async query(q: StudyQuery): Promise<RemoteStudy[]> {
    const p = StudyQuerySchema.parse(q);
    if (!p.patientName?.trim() && !p.patientId?.trim() && !p.accessionNumber?.trim() && !p.dateFrom && !p.dateTo && !p.studyInstanceUid) {
      throw new AppError('BAD_REQUEST', 'Give at least a patient name or ID, an accession number or a date: an empty query would list the whole archive.');
    }
    const studies = await this.archive(this.repo.getRemote(p.remoteId)).findStudies({
      patientName: p.patientName?.trim() || undefined,
      patientId: p.patientId?.trim() || undefined,
      accessionNumber: p.accessionNumber?.trim() || undefined,
      studyDate: dateRange(p.dateFrom, p.dateTo) ?? undefined,
      studyInstanceUid: p.studyInstanceUid,
      limit: p.limit,
    });
    return studies.map((s) => ({ ...s, localCaseId: this.repo.caseOfStudy(s.studyInstanceUid) }));
  }

  /** Bring a study's images into the worklist (C-GET / WADO-RS: here; C-MOVE: through the receiver). */
  async retrieve(remoteId: number, studyInstanceUid: string): Promise<RetrieveResult> {
    const remote = this.repo.getRemote(remoteId);
    const result: RetrieveResult = { imported: 0, duplicates: 0, skipped: 0, refused: [], caseIds: [] };
    const cases = new Set<number>();
    if (remote.kind === 'dimse' && remote.retrieve === 'C-MOVE' && !this.receiver) {
      throw new AppError('BAD_REQUEST', `${remote.name} retrieves by C-MOVE, which sends the images to this station's receiver: turn the receiver on first (or use C-GET).`);
    }
    const before = this.receiver?.received ?? 0;
    const { failed } = await this.archive(remote).retrieveStudy(studyInstanceUid, async (bytes) => {
      let sop: string | null = null;
      try {
        const id = readIdentity(bytes);
        sop = id.sopInstanceUid;
        if (resultKind(id.sopClassUid, id.modality) !== 'image') {
          // Results (SR, SEG, PDF) stay in the archive; the viewer lists them (studyResults).
          result.skipped++;
          return;
        }
        const outcome = await importBytes(this.store, bytes, `${remote.name}_${sop}.dcm`);
        this.repo.recordReceived({ via: 'retrieve', sopInstanceUid: sop, sopClassUid: id.sopClassUid, callingAe: null, peerAddress: null, remoteId, outcome: outcome.status, caseId: outcome.caseId, imageId: outcome.imageId, message: outcome.status === 'duplicate' ? outcome.reason : null });
        cases.add(outcome.caseId);
        if (outcome.status === 'imported') result.imported++;
        else result.duplicates++;
      } catch (e) {
        const info = toErrorInfo(e);
        this.repo.recordReceived({ via: 'retrieve', sopInstanceUid: sop, sopClassUid: null, callingAe: null, peerAddress: null, remoteId, outcome: 'refused', caseId: null, imageId: null, message: `${info.code}: ${info.message}` });
        result.refused.push({ sopInstanceUid: sop, ...info });
        throw e;
      }
    });
    if (remote.kind === 'dimse' && remote.retrieve === 'C-MOVE') {
      // The images came in through the receiver; it recorded them. Report what it took for this study.
      await this.receiver?.idle();
      const caseId = this.repo.caseOfStudy(studyInstanceUid);
      if (caseId !== null) cases.add(caseId);
      result.imported = (this.receiver?.received ?? 0) - before;
    }
    if (failed > result.refused.length) result.refused.push({ sopInstanceUid: null, code: 'NETWORK_PROTOCOL', message: `${remote.name} reported ${failed} instance(s) it could not deliver.` });
    result.caseIds = [...cases];
    if (result.caseIds.length) {
      this.hooks.casesChanged(result.caseIds);
      this.hooks.kickAnalysis();
    }
    return result;
  }

  // ---- sending -------------------------------------------------------------------------------------------

  /** Queue one DICOM instance (Part 10) for an archive. Never queued twice for the same archive. */
  enqueueInstance(remoteId: number, part10: Uint8Array, meta: { caseId: number | null; kind?: SendKind; enqueuedBy: string }): { item: QueueEntry; added: boolean } {
    const remote = this.repo.getRemote(remoteId);
    const id = readIdentity(part10);
    const r = this.repo.enqueue({ remoteId: remote.id, caseId: meta.caseId, kind: meta.kind ?? resultKind(id.sopClassUid, id.modality), sopInstanceUid: id.sopInstanceUid, sopClassUid: id.sopClassUid, studyInstanceUid: id.studyInstanceUid, seriesInstanceUid: id.seriesInstanceUid, payload: part10, enqueuedBy: meta.enqueuedBy });
    if (r.added) {
      this.hooks.queueChanged?.({ counts: this.repo.queueCounts(), changedId: r.item.id });
      this.queue.kick();
    }
    return r;
  }

  /**
   * Queue the signed case's SR, SEG (when it has masks) and encapsulated PDF for one archive, or for every archive
   * marked "send results". Their UIDs derive from the signature, so queuing the same signed version again (a second
   * click, the automatic send after a manual one) finds the rows already there and sends nothing twice; an
   * amendment signed later gets new UIDs, as a new version of the report should.
   */
  async enqueueSignedResults(caseId: number, actor: AuditActor, remoteId?: number): Promise<QueueEntry[]> {
    const remotes = remoteId !== undefined ? [this.repo.getRemote(remoteId)] : this.repo.listRemotes().filter((r) => r.sendResults);
    if (remotes.length === 0) return [];
    const input = gatherExportInput(this.store, caseId);
    const sig = input.signature;
    if (sig.state !== 'signed' || sig.amendmentOpen) {
      throw new AppError('BAD_REQUEST', sig.state === 'signed' ? 'This case has an open amendment: sign it before sending the results.' : 'This case is not signed: only signed results are sent to the archive.');
    }
    const seed = `${input.study.studyInstanceUid}:signature:${sig.sequence}:${sig.contentSha256 ?? sig.signedAt}`;
    const uids = (kind: string) => ({ series: uidFromText(`${seed}:${kind}:series`), instance: uidFromText(`${seed}:${kind}:instance`) });
    const built: { kind: SendKind; bytes: Uint8Array }[] = [{ kind: 'sr', bytes: buildSr(input, uids('sr')) }];
    try {
      built.push({ kind: 'seg', bytes: buildSeg(input, uids('seg')) });
    } catch (e) {
      if (!(isAppError(e) && e.code === 'EXPORT_NOTHING')) throw e;
    }
    built.push({ kind: 'pdf', bytes: buildEncapsulatedPdf(input, await buildPdf(input), uids('pdf')) });
    const out: QueueEntry[] = [];
    for (const remote of remotes) {
      for (const b of built) {
        const r = this.enqueueInstance(remote.id, b.bytes, { caseId, kind: b.kind, enqueuedBy: actor.username });
        out.push(r.item);
        if (r.added) {
          appendAudit(this.store.db, { actor, action: 'case.send', target: { type: 'case', id: caseId }, details: { kind: b.kind, remote: remote.name, sopInstanceUid: r.item.sopInstanceUid, bytes: b.bytes.byteLength } });
        }
      }
    }
    return out;
  }

  /**
   * The sign-off hook: when "send on sign-off" is on, queue the signed results for every "send results" archive.
   * Never fails the signing: a result that cannot be built or queued is reported on the queue's event.
   */
  async onSigned(caseId: number, actor: AuditActor): Promise<void> {
    if (this.closed || !this.repo.settings().autoSendOnSign) return;
    const work = this.enqueueSignedResults(caseId, actor)
      .then(() => undefined)
      .catch((e) => this.hooks.queueChanged?.({ counts: this.repo.queueCounts(), changedId: null, problem: { caseId, ...toErrorInfo(e) } }));
    this.pending.add(work);
    await work.finally(() => this.pending.delete(work));
  }

  retry(id: number): QueueEntry {
    const item = this.repo.retryNow(id);
    this.hooks.queueChanged?.({ counts: this.repo.queueCounts(), changedId: id });
    this.queue.kick();
    return item;
  }

  /** The SR, SEG and PDF results of the case's study in every archive: this station's and other stations'. */
  async studyResults(caseId: number): Promise<{ results: ArchiveResult[]; errors: { remoteName: string; code: string; message: string }[] }> {
    const { studyInstanceUid } = this.repo.studyOfCase(caseId);
    const ours = this.repo.queuedInstancesOfStudy(studyInstanceUid);
    const results: ArchiveResult[] = [];
    const errors: { remoteName: string; code: string; message: string }[] = [];
    await Promise.all(
      this.repo.listRemotes().map(async (remote) => {
        try {
          const found = await this.archive(remote).findInstances(studyInstanceUid);
          for (const i of found) {
            const kind = resultKind(i.sopClassUid, i.modality);
            if (kind === 'image' || kind === 'other') continue;
            results.push({ remoteId: remote.id, remoteName: remote.name, sopInstanceUid: i.sopInstanceUid, sopClassUid: i.sopClassUid, seriesInstanceUid: i.seriesInstanceUid, modality: i.modality, kind, seriesDescription: i.seriesDescription, contentDate: i.contentDate, contentTime: i.contentTime, ours: ours.has(i.sopInstanceUid) });
          }
        } catch (e) {
          errors.push({ remoteName: remote.name, ...toErrorInfo(e) });
        }
      }),
    );
    results.sort((a, b) => `${b.contentDate ?? ''}${b.contentTime ?? ''}`.localeCompare(`${a.contentDate ?? ''}${a.contentTime ?? ''}`));
    return { results, errors };
  }

  queueView(q: { state?: QueueEntry['state']; caseId?: number; limit: number }) {
    return { items: this.repo.listQueue(q).map(publicQueueItem), counts: this.repo.queueCounts() };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pending]);
    await this.stopReceiver();
    await this.queue.stop();
  }
}
