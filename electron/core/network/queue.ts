// The outgoing queue: sends results to archives one at a time, from the send_queue table, so that they survive
// restarts and network loss. Exactly once: a row is claimed ('sending') in a transaction before it goes out; an
// attempt whose outcome is unknown (the connection broke after the data left, or the station stopped mid-send)
// marks the row uncertain, and the next attempt first asks the archive whether it holds the SOP Instance UID
// (C-FIND or QIDO-RS) instead of sending it again. Transient failures are retried with exponential back-off up to
// a cap; a refusal by the archive, or too many attempts, leaves the row 'failed' with its reason for a person.
import type { Archive } from './archive';
import { SendError } from './archive';
import type { NetworkRepo, QueueEntry } from './repo';
import { toErrorInfo } from '../errors';

export interface QueueTiming {
  /** delay after the first failure; doubles per attempt */
  baseDelayMs: number;
  /** the longest wait between two attempts */
  maxDelayMs: number;
  /** attempts before a send is left 'failed' for a person to retry */
  maxAttempts: number;
}

export const DEFAULT_TIMING: QueueTiming = { baseDelayMs: 5_000, maxDelayMs: 10 * 60_000, maxAttempts: 15 };

/** The wait before attempt n+1 after n failed ones: base * 2^(n-1), capped, with +-20% jitter so stations spread out. */
export function backoffMs(attempts: number, t: QueueTiming, random = Math.random): number {
  const raw = Math.min(t.maxDelayMs, t.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export class OutgoingQueue {
  private running: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private wanted = false;

  constructor(
    private readonly repo: NetworkRepo,
    private readonly archiveFor: (remoteId: number) => Archive,
    private readonly changed: (id: number | null) => void,
    private readonly timing: QueueTiming = DEFAULT_TIMING,
  ) {}

  /**
   * Start sending. `recover`: sends left 'sending' by a station that stopped mid-send become uncertain and due; only
   * the process that owns the station's queue (the app, `cxr serve`) does this, not a one-off command beside it.
   */
  start(recover = true): void {
    this.stopped = false;
    if (recover && this.repo.recoverInterrupted() > 0) this.changed(null);
    this.kick();
  }

  /** Work through whatever is due now. Cheap to call often. */
  kick(): void {
    if (this.stopped) return;
    this.wanted = true;
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.stopped) return;
      if (this.wanted) this.kick();
      else this.schedule();
    });
  }

  /** Resolves when nothing due is left (sends waiting for their next attempt do not count). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.idle();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const due = this.repo.nextDue();
    if (!due) return;
    const wait = Math.max(0, Math.min(Date.parse(due) - Date.now(), 2 ** 31 - 1));
    this.timer = setTimeout(() => this.kick(), wait);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.wanted = false;
      const item = this.repo.claimDue();
      if (!item) return;
      this.changed(item.id);
      await this.attempt(item);
      this.changed(item.id);
    }
  }

  private async attempt(item: QueueEntry): Promise<void> {
    let archive: Archive;
    try {
      archive = this.archiveFor(item.remoteId);
    } catch (e) {
      this.repo.markFailed(item.id, toErrorInfo(e).message, item.uncertain);
      return;
    }
    if (item.uncertain) {
      // The previous attempt may have delivered it: ask before sending again.
      try {
        const found = await archive.findInstances(item.studyInstanceUid, { sopInstanceUid: item.sopInstanceUid });
        if (found.some((i) => i.sopInstanceUid === item.sopInstanceUid)) {
          this.repo.markSent(item.id, 'query');
          return;
        }
      } catch (e) {
        this.retryOrFail(item, `could not ask ${archive.name} whether it already holds the instance: ${toErrorInfo(e).message}`, true, false);
        return;
      }
    }
    try {
      await archive.store(this.repo.payload(item.id), { sopClassUid: item.sopClassUid, sopInstanceUid: item.sopInstanceUid, studyInstanceUid: item.studyInstanceUid });
      this.repo.markSent(item.id, 'response');
    } catch (e) {
      const send = e instanceof SendError ? e : null;
      this.retryOrFail(item, toErrorInfo(e).message, send ? send.delivery === 'unknown' : true, send?.permanent ?? false);
    }
  }

  private retryOrFail(item: QueueEntry, message: string, uncertain: boolean, permanent: boolean): void {
    if (permanent || item.attempts >= this.timing.maxAttempts) {
      const why = permanent ? message : `${message} (gave up after ${item.attempts} attempts; retry by hand)`;
      this.repo.markFailed(item.id, why, uncertain);
      return;
    }
    const next = new Date(Date.now() + backoffMs(item.attempts, this.timing)).toISOString();
    this.repo.markRetry(item.id, message, next, uncertain);
  }
}
