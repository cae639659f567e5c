// The background analysis queue: every imported image is read by the model, one at a time, off the import path.
// Results go to the store with the model's name and version; failures are recorded with their reason and not
// retried for the same model version. Progress is reported so that the UI can show it.
import type { CaseStore } from '../store/index';
import type { DecodedImage } from '../imaging/types';
import { toErrorInfo } from '../errors';

/** What the queue needs of a model: who it is, where it runs, and a reading of one decoded image. */
export interface ReadingModel {
  readonly model: { name: string; version: string; sha256: string };
  readonly ep: string;
  read(image: DecodedImage): Promise<{ tbScore: number; label: string; result: unknown; evidence?: Uint8Array | null; embedding?: Float32Array | null; baseLogit?: number | null }>;
}

export interface QueueProgress {
  /** images waiting, including the one being read */
  pending: number;
  /** images read (or failed) since the queue was created */
  done: number;
  failed: number;
  /** the image being read now, if any */
  currentImageId: number | null;
  /** the model that reads, or why there is none */
  model: { name: string; version: string; ep: string } | null;
  modelError: { code: string; message: string } | null;
}

export interface QueueEvents {
  progress(p: QueueProgress): void;
  analyzed(r: { imageId: number; caseId: number; tbScore: number }): void;
  /**
   * Awaited before each image: lets work that must not wait (images arriving from the network, whose sender waits
   * for our answer) go first. The queue lags during a burst and catches up after it.
   */
  yieldTo?(): Promise<void>;
}

export class AnalysisQueue {
  private running: Promise<void> | null = null;
  private stopped = false;
  private done = 0;
  private failed = 0;
  private current: number | null = null;
  private wanted = false;

  constructor(
    private readonly store: CaseStore,
    private readonly model: ReadingModel | null,
    private readonly modelError: { code: string; message: string } | null,
    private readonly events: QueueEvents,
  ) {}

  progress(): QueueProgress {
    const pending = this.model ? this.store.countImagesAwaitingAnalysis(this.model.model) : 0;
    return {
      pending,
      done: this.done,
      failed: this.failed,
      currentImageId: this.current,
      model: this.model ? { name: this.model.model.name, version: this.model.model.version, ep: this.model.ep } : null,
      modelError: this.modelError,
    };
  }

  /** Make sure the queue is working through everything that awaits analysis. Cheap to call often. */
  kick(): void {
    if (!this.model || this.stopped) return;
    this.wanted = true;
    if (!this.running) {
      this.running = this.loop().finally(() => {
        this.running = null;
        if (this.wanted && !this.stopped) this.kick();
      });
    }
  }

  /** Resolves when nothing is left to read (or the queue is stopped). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private async loop(): Promise<void> {
    const model = this.model!;
    while (!this.stopped) {
      this.wanted = false;
      if (this.events.yieldTo) await this.events.yieldTo();
      if (this.stopped) break;
      const next = this.store.imagesAwaitingAnalysis(model.model, 1)[0];
      if (next === undefined) break;
      this.current = next;
      this.events.progress(this.progress());
      try {
        const image = this.store.loadDecodedImage(next);
        const r = await model.read(image);
        const { caseId } = this.store.saveAnalysis({ imageId: next, model: { ...model.model, ep: model.ep }, tbScore: r.tbScore, label: r.label, result: r.result, evidence: r.evidence ?? null, embedding: r.embedding ?? null, baseLogit: r.baseLogit ?? null });
        this.events.analyzed({ imageId: next, caseId, tbScore: r.tbScore });
      } catch (e) {
        this.failed++;
        this.store.recordAnalysisFailure(next, model.model, toErrorInfo(e));
      }
      this.done++;
      this.current = null;
      // Let other work (imports, UI calls) run between images.
      await new Promise((r) => setImmediate(r));
    }
    this.events.progress(this.progress());
  }
}
