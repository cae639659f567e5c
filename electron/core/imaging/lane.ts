// A decode lane: one worker thread that decodes one file at a time, off the main thread, under a time limit and a
// memory limit per file. Started on first use and unref'd while idle (it never keeps the process alive). A job that
// passes its time limit, or runs its thread out of memory, ends the thread (WebAssembly and a stuck JavaScript
// decoder cannot be interrupted otherwise) and fails with the reason; the next job starts a fresh thread. Jobs wait
// their turn, so each one's clock starts when its own decoding does. The worker's code is an inline CommonJS string
// (no extra file for the bundler), answering each `{ id, ... }` message with `{ id, ...reply }` or `{ id, error }`.
import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';

export type LaneFailure = { kind: 'timeout'; ms: number } | { kind: 'memory'; mb: number } | { kind: 'stopped'; detail: string } | { kind: 'error'; message: string; code?: string };

/** A job refused by the lane itself (the thread's limits), as opposed to an error the decoder reported. */
export class LaneError extends Error {
  constructor(readonly failure: LaneFailure) {
    super(
      failure.kind === 'timeout'
        ? `decoding took longer than the ${failure.ms < 1000 ? `${failure.ms} ms` : `${Math.round(failure.ms / 100) / 10} s`} allowed per file and was abandoned`
        : failure.kind === 'memory'
          ? `decoding needed more than the ${failure.mb} MB of working memory allowed per file and was abandoned`
          : failure.kind === 'stopped'
            ? `the decoder thread stopped (${failure.detail})`
            : failure.message,
    );
  }
}

export interface LaneOptions {
  /** the worker's CommonJS source */
  source: string;
  /** handed to the worker as workerData (re-read each time a thread starts) */
  workerData: () => unknown;
  /** the thread's JavaScript heap; typed arrays are bounded by the callers' size checks before decoding */
  resourceLimits?: ResourceLimits;
}

interface Job {
  message: Record<string, unknown>;
  transfer: TransferListItem[];
  timeoutMs: number;
  resolve: (reply: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export class DecodeLane {
  private worker: Worker | undefined;
  private readonly queue: Job[] = [];
  private current: { job: Job; id: number; timer: NodeJS.Timeout } | null = null;
  private nextId = 1;
  /** files decoded or refused by this lane since it was made (a benchmark's and a test's view of the work done) */
  jobs = 0;

  constructor(private readonly opts: LaneOptions) {}

  /** Decode one file: `message` goes to the worker (with `transfer`), its reply comes back. */
  run(message: Record<string, unknown>, transfer: TransferListItem[], timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, transfer, timeoutMs, resolve, reject });
      this.pump();
    });
  }

  /** End the thread (a later job starts a new one); the job in it, if any, fails with `why`. */
  stop(why: LaneFailure = { kind: 'stopped', detail: 'the decoder was restarted' }): void {
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      w.removeAllListeners();
      void w.terminate();
    }
    this.finish(new LaneError(why));
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) {
      if (!this.current && this.worker) this.worker.unref();
      return;
    }
    const job = this.queue.shift()!;
    let w: Worker;
    try {
      w = this.worker ?? (this.worker = this.start());
    } catch (e) {
      job.reject(e instanceof Error ? e : new Error(String(e)));
      return this.pump();
    }
    const id = this.nextId++;
    const timer = setTimeout(() => {
      if (this.current?.id === id) this.stop({ kind: 'timeout', ms: job.timeoutMs });
    }, job.timeoutMs);
    this.current = { job, id, timer };
    w.ref();
    this.jobs++;
    try {
      w.postMessage({ ...job.message, id }, job.transfer);
    } catch (e) {
      this.finish(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private finish(outcome: Record<string, unknown> | Error): void {
    const c = this.current;
    if (!c) return;
    this.current = null;
    clearTimeout(c.timer);
    if (outcome instanceof Error) c.job.reject(outcome);
    else c.job.resolve(outcome);
    setImmediate(() => this.pump());
  }

  private start(): Worker {
    const w = new Worker(this.opts.source, {
      eval: true,
      workerData: this.opts.workerData(),
      // plain CommonJS worker: do not inherit loaders such as tsx
      execArgv: [],
      resourceLimits: this.opts.resourceLimits,
    });
    w.on('message', (m: Record<string, unknown> & { id: number; error?: string; code?: string }) => {
      if (w !== this.worker || this.current?.id !== m.id) return;
      if (typeof m.error === 'string') this.finish(new LaneError({ kind: 'error', message: m.error, code: typeof m.code === 'string' ? m.code : undefined }));
      else this.finish(m);
    });
    const ended = (failure: LaneFailure) => {
      if (w !== this.worker) return;
      this.worker = undefined;
      w.removeAllListeners();
      this.finish(new LaneError(failure));
    };
    w.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') ended({ kind: 'memory', mb: this.opts.resourceLimits?.maxOldGenerationSizeMb ?? 0 });
      else ended({ kind: 'stopped', detail: e.message });
    });
    w.on('exit', (code) => ended({ kind: 'stopped', detail: `exit code ${code}` }));
    w.unref();
    return w;
  }
}
