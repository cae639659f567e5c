// The contract's handlers, implemented over the core services, and one dispatcher that every transport
// (Electron IPC, the local web server, tests) uses: validate the request, run, validate the response, and answer
// `{ ok: true, value } | { ok: false, error }`. Nothing here knows about Electron or HTTP.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { contract, isCallName, type CallName, type CallReply, type EventName, type EventPayload } from '../../contract/index';
import type { Actor, Handlers, HandlerContext, Session } from './context';
import { annotationHandlers } from './handlers/annotations';
import { reportingHandlers } from './handlers/reporting';
import { accountHandlers } from './handlers/accounts';
import { exportHandlers } from './handlers/exports';
import { systemHandlers } from './handlers/system';
import { networkHandlers } from './handlers/network';
import { AppError, toErrorInfo } from '../errors';
import { CaseStore } from '../store/index';
import { importBytes } from '../importing/index';
import { AnalysisQueue, type ReadingModel } from '../analysis/index';
import { loadModelPack, createAnalyzer, analyzeImage, type Analyzer, type EpRequest } from '../inference/index';
import type { AnalysisView, AnalysisProgress } from '../../contract/index';

export const APP_NAME = 'CXR Workstation';
export const APP_VERSION = '0.1.0';
const QUEUE_POLL_MS = 5000;

export type { Handlers, HandlerContext, Actor } from './context';

export interface WorkstationOptions {
  /** the database file; its blob folder sits beside it */
  dbPath: string;
  transport: 'ipc' | 'http';
  /** better-sqlite3 binary built for this runtime's ABI (Electron), when it is not the default one */
  sqliteNativeBinding?: string;
  /** the model pack that reads imported images in the background; none: no analysis */
  modelDir?: string;
  ep?: EpRequest;
}

/** The running core: the store, the contract's handlers and the event channel, shared by every transport. */
export class Workstation {
  readonly store: CaseStore;
  readonly handlers: Handlers;
  readonly session: Session = { user: null };
  private readonly emitter = new EventEmitter();
  private queue: AnalysisQueue | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;
  private analyzer: Analyzer | null = null;
  /** settles when the model pack is loaded (or failed to load) and the queue has started */
  readonly analysisReady: Promise<void>;

  constructor(readonly options: WorkstationOptions) {
    this.store = CaseStore.open(options.dbPath, { nativeBinding: options.sqliteNativeBinding });
    this.store.sweepOrphanBlobs();
    this.emitter.setMaxListeners(100);
    const store = this.store;
    const ctx: HandlerContext = {
      store,
      transport: options.transport,
      session: this.session,
      actor: () => this.actor(),
      emit: (name, payload) => this.emit(name, payload),
      kickAnalysis: () => this.queue?.kick(),
    };
    this.handlers = {
      ...annotationHandlers(ctx),
      ...reportingHandlers(ctx),
      ...accountHandlers(ctx),
      ...exportHandlers(ctx),
      ...systemHandlers(ctx),
      ...networkHandlers(ctx),
      'app:info': () => ({
        name: APP_NAME,
        version: APP_VERSION,
        schemaVersion: store.schemaVersion(),
        dataDir: store.dataDir,
        transport: options.transport,
      }),
      'import:file': async ({ name, bytes }) => {
        const outcome = await importBytes(store, bytes, name);
        if (outcome.status === 'imported') {
          this.emit('cases:onChanged', { caseIds: [outcome.caseId] });
          this.queue?.kick();
        }
        return outcome;
      },
      'cases:list': (q) => store.findCasesForWorklist(q),
      'cases:get': ({ caseId }) => store.getCase(caseId),
      'images:pixels': ({ imageId }) => ({ imageId, bytes: store.readPixels(imageId) }),
      'analysis:status': () => this.analysisProgress(),
      'analysis:get': ({ imageId }) => {
        store.getImage(imageId);
        return { analysis: toAnalysisView(store.getAnalysis(imageId)), failure: store.getAnalysisFailure(imageId) };
      },
    };
    this.analysisReady = options.modelDir ? this.startAnalysis(options.modelDir, options.ep ?? 'auto') : Promise.resolve();
  }

  private modelError: { code: string; message: string } | null = null;

  /** The signed-in person, or, before accounts exist on this station, the operating system's user. */
  actor(): Actor {
    if (this.session.user) return this.session.user;
    let name = 'local user';
    try {
      name = os.userInfo().username || name;
    } catch {
      // no user database entry (some containers): keep the generic name
    }
    return { userId: null, username: name, displayName: name, role: null };
  }

  analysisProgress(): AnalysisProgress {
    if (this.queue) return this.queue.progress();
    return { pending: 0, done: 0, failed: 0, currentImageId: null, model: null, modelError: this.modelError ?? { code: 'MODEL_MISSING', message: 'No model pack is configured: images are not analysed.' } };
  }

  /** Load the model pack and start reading whatever awaits analysis; a bad pack is reported, never fatal. */
  private async startAnalysis(modelDir: string, ep: EpRequest): Promise<void> {
    try {
      const pack = await loadModelPack(modelDir);
      const analyzer = await createAnalyzer(pack, { ep });
      this.analyzer = analyzer;
      const info = pack.info();
      const reader: ReadingModel = {
        model: { name: info.name, version: info.version, sha256: info.sha256 },
        ep: analyzer.ep,
        read: async (image) => {
          const r = await analyzeImage(analyzer, image);
          const { grid, ...evidenceGeometry } = r.evidence;
          return { tbScore: r.tbScore, label: r.label, result: { ...r, evidence: evidenceGeometry }, evidence: grid };
        },
      };
      this.queue = new AnalysisQueue(this.store, reader, null, {
        progress: (p) => this.emit('analysis:onProgress', p),
        analyzed: ({ caseId }) => this.emit('cases:onChanged', { caseIds: [caseId] }),
      });
      this.queue.kick();
      // Images can also arrive from another process on the same database (the CLI): look for them now and then.
      this.poll = setInterval(() => this.queue?.kick(), QUEUE_POLL_MS);
      this.poll.unref();
    } catch (e) {
      this.modelError = toErrorInfo(e);
      this.emit('analysis:onProgress', this.analysisProgress());
    }
  }

  /** Resolves when the background queue has nothing left to read. */
  async analysisIdle(): Promise<void> {
    await this.analysisReady;
    await this.queue?.idle();
  }

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.emitter.emit(name, payload);
  }

  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /** Validate and run one call; never throws. */
  async dispatch(name: unknown, rawRequest: unknown): Promise<CallReply<CallName>> {
    return dispatch(this.handlers, name, rawRequest);
  }

  async close(): Promise<void> {
    await this.analysisReady;
    if (this.poll) clearInterval(this.poll);
    await this.queue?.stop();
    await this.analyzer?.release();
    this.store.close();
  }
}

export async function dispatch(handlers: Handlers, name: unknown, rawRequest: unknown): Promise<CallReply<CallName>> {
  if (!isCallName(name)) return { ok: false, error: { code: 'UNKNOWN_CALL', message: `No such call: ${String(name).slice(0, 80)}` } };
  const spec = contract[name];
  const parsed = spec.request.safeParse(rawRequest ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; ');
    return { ok: false, error: { code: 'BAD_REQUEST', message: `Invalid request for ${name}: ${detail}` } };
  }
  try {
    const handler = handlers[name] as (r: unknown) => unknown;
    const value = await handler(parsed.data);
    const checked = spec.response.safeParse(value);
    if (!checked.success) {
      throw new AppError('INTERNAL', `The ${name} handler produced an answer outside the contract: ${checked.error.issues[0]?.message}`);
    }
    return { ok: true, value: checked.data } as CallReply<CallName>;
  } catch (e) {
    return { ok: false, error: toErrorInfo(e) };
  }
}

function toAnalysisView(a: ReturnType<CaseStore['getAnalysis']>): AnalysisView | null {
  if (!a) return null;
  const r = a.result as Omit<AnalysisView, 'imageId' | 'createdAt' | 'evidence'> & { evidence?: { width: number; height: number; origin: [number, number]; cell: [number, number] } };
  return {
    imageId: a.imageId,
    tbScore: a.tbScore,
    threshold: r.threshold,
    label: a.label,
    probabilities: r.probabilities,
    boxes: r.boxes,
    lungs: r.lungs,
    zones: r.zones,
    evidence: r.evidence && a.evidence ? { ...r.evidence, grid: a.evidence } : null,
    timingsMs: r.timingsMs,
    model: { name: a.model.name, version: a.model.version, ep: a.model.ep },
    createdAt: a.createdAt,
  };
}
