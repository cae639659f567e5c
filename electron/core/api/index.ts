// The contract's handlers, implemented over the core services, and one dispatcher that every transport
// (Electron IPC, the local web server, tests) uses: validate the request, run, validate the response, and answer
// `{ ok: true, value } | { ok: false, error }`. Nothing here knows about Electron or HTTP.
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { contract, isCallName, type CallName, type CallReply, type EventName, type EventPayload } from '../../contract/index';
import type { Actor, Handlers, HandlerContext, Session } from './context';
import { annotationHandlers } from './handlers/annotations';
import { reportingHandlers } from './handlers/reporting';
import { accountHandlers } from './handlers/accounts';
import { StationSession, type SessionSnapshot } from '../accounts/session';
import { exportHandlers } from './handlers/exports';
import { systemHandlers } from './handlers/system';
import { networkHandlers } from './handlers/network';
import { NetworkService } from '../network/index';
import { AppError, toErrorInfo } from '../errors';
import { CaseStore } from '../store/index';
import type { KeyAccess } from '../crypto/index';
import { importBytes } from '../importing/index';
import { AnalysisQueue, type ReadingModel } from '../analysis/index';
import { loadModelPack, createAnalyzer, analyzeDetailed, type Analyzer, type EpRequest } from '../inference/index';
import { siteHandlers } from './handlers/site';
import { SiteService, flagWorklistRow, latestCalibrationVersion, readingInForce, type SitePack, type ThresholdInForce } from '../site/index';
import type { AnalysisView, AnalysisProgress } from '../../contract/index';

import { APP_NAME, APP_VERSION } from '../app';

export { APP_NAME, APP_VERSION };
const QUEUE_POLL_MS = 5000;

export type { Handlers, HandlerContext, Actor } from './context';

export interface WorkstationOptions {
  /** the database file; its blob folder sits beside it */
  dbPath: string;
  transport: 'ipc' | 'http';
  /** better-sqlite3 binary built for this runtime's ABI (Electron), when it is not the default one */
  sqliteNativeBinding?: string;
  /** how the store's data key may be unlocked (OS key store, recovery passphrase); default: the plain key file */
  key?: KeyAccess;
  /** the model pack that reads imported images in the background; none: no analysis */
  modelDir?: string;
  ep?: EpRequest;
  /** how dbPath was decided, for the first-run and About screens (default: 'argument') */
  dbSource?: 'env' | 'chosen' | 'default' | 'argument';
  /** run the DICOM receiver (when enabled in the settings) and the outgoing send queue (default true; one-off CLI commands pass false) */
  network?: boolean;
}

/** The running core: the store, the contract's handlers and the event channel, shared by every transport. */
export class Workstation {
  readonly store: CaseStore;
  readonly handlers: Handlers;
  /** the station's own session (the desktop window, the CLI, tests); a web client has one of its own (openSession) */
  readonly session: Session = { user: null, locked: false, lastActivityMs: 0 };
  /** who is signed in, and the check every call passes first (accounts, roles, idle lock) */
  readonly station: StationSession;
  /** the sessions of web clients, each signed in (or not) for itself */
  private readonly clientSessions = new Set<StationSession>();
  /** the session the call being dispatched runs in */
  private readonly callSession = new AsyncLocalStorage<StationSession>();
  private readonly emitter = new EventEmitter();
  private queue: AnalysisQueue | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;
  private analyzer: Analyzer | null = null;
  /** settles when the model pack is loaded (or failed to load) and the queue has started */
  readonly analysisReady: Promise<void>;
  /** the DICOM receiver and the outgoing queue (issue 7) */
  readonly network: NetworkService;
  /** settles when the receiver (if enabled) listens and the send queue has started */
  readonly networkReady: Promise<void>;
  /** site calibration: the threshold in force, the site head, the re-scoring job */
  readonly site: SiteService;

  constructor(readonly options: WorkstationOptions) {
    this.store = CaseStore.open(options.dbPath, { nativeBinding: options.sqliteNativeBinding, key: options.key });
    this.store.sweepOrphanBlobs();
    this.emitter.setMaxListeners(100);
    const store = this.store;
    this.station = new StationSession(store.db, this.session, (s) => this.emit('accounts:onSession', s));
    const current = () => this.currentSession();
    this.site = new SiteService(store.db, () => this.sitePack(), {
      changed: (version) => this.emit('site:onChanged', { version }),
      rescore: (p) => this.emit('site:onRescore', p),
      casesChanged: (caseIds) => this.emit('cases:onChanged', { caseIds }),
    });
    const ctx: HandlerContext = {
      store,
      transport: options.transport,
      get session() {
        return current().state;
      },
      actor: () => this.actor(),
      emit: (name, payload) => this.emit(name, payload),
      kickAnalysis: () => this.queue?.kick(),
      site: this.site,
    };
    this.network = new NetworkService(store, {
      casesChanged: (caseIds) => this.emit('cases:onChanged', { caseIds }),
      kickAnalysis: () => this.queue?.kick(),
      receiverChanged: (s) => this.emit('network:onReceiver', s),
      received: (r) => this.emit('network:onReceived', r),
      queueChanged: (r) => this.emit('network:onQueue', r),
    });
    this.handlers = {
      ...annotationHandlers(ctx),
      ...reportingHandlers(ctx),
      ...accountHandlers(ctx, current, () => this.refreshSessions()),
      ...exportHandlers(ctx),
      ...systemHandlers(ctx, {
        appName: APP_NAME,
        appVersion: APP_VERSION,
        dbSource: options.dbSource ?? 'argument',
        modelDir: options.modelDir ?? null,
        analysis: () => this.analysisProgress(),
        execution: () => (this.analyzer ? { ep: this.analyzer.ep, requested: this.analyzer.epRequested, fallbackReason: this.analyzer.epFallbackReason } : null),
        modelLoading: () => !!options.modelDir && !this.analyzer && !this.modelError,
      }),
      ...networkHandlers(ctx, this.network),
      ...siteHandlers(ctx),
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
      'cases:list': (q) => {
        // one threshold in force (site/threshold.ts) for the rows' flags and the flagged-only filter
        const t = this.site.threshold();
        const page = store.findCasesForWorklist(q, t && { modelSha256: t.pack.sha256, threshold: t.value });
        return { total: page.total, rows: page.rows.map((r) => flagWorklistRow(r, t)), threshold: t && operatingThreshold(t) };
      },
      'cases:get': ({ caseId }) => store.getCase(caseId),
      'images:pixels': ({ imageId }) => ({ imageId, bytes: store.readPixels(imageId) }),
      'analysis:status': () => this.analysisProgress(),
      'analysis:get': ({ imageId }) => {
        store.getImage(imageId);
        const a = store.getAnalysis(imageId);
        return { analysis: toAnalysisView(a, a ? readingInForce(store.db, a.analysisId) : null), failure: store.getAnalysisFailure(imageId) };
      },
    };
    // Signed results go to the archives marked "send results" (when the network settings say so).
    const sign = this.handlers['accounts:sign'];
    this.handlers['accounts:sign'] = async (request) => {
      const signed = await sign(request);
      const a = this.actor();
      void this.network.onSigned(request.caseId, { userId: a.userId, username: a.username });
      return signed;
    };
    this.analysisReady = options.modelDir ? this.startAnalysis(options.modelDir, options.ep ?? 'auto') : Promise.resolve();
    this.networkReady = options.network === false ? Promise.resolve() : this.network.start();
  }

  private modelError: { code: string; message: string } | null = null;

  /**
   * A session of its own for one client of the web mode (one browser): signed out until it signs in, its own idle
   * lock, its changes told to `changed` only. Close it when the client is gone.
   */
  openSession(changed: (s: SessionSnapshot) => void): StationSession {
    const s = new StationSession(this.store.db, { user: null, locked: false, lastActivityMs: 0 }, changed);
    this.clientSessions.add(s);
    return s;
  }

  closeSession(s: StationSession): void {
    this.clientSessions.delete(s);
  }

  /** The session of the call being dispatched (the station's own outside a client's call). */
  private currentSession(): StationSession {
    return this.callSession.getStore() ?? this.station;
  }

  /** After an administrator changed an account: every session signed in with it follows (a disabled one is signed out). */
  private refreshSessions(): void {
    this.station.refresh();
    for (const s of this.clientSessions) s.refresh();
  }

  /** The signed-in person, or, where nobody is (the CLI, or before accounts exist), the operating system's user. */
  actor(): Actor {
    const user = this.currentSession().state.user;
    if (user) return user;
    let name = 'local user';
    try {
      name = os.userInfo().username || name;
    } catch {
      // no user database entry (some containers): keep the generic name
    }
    return { userId: null, username: name, displayName: name, role: null };
  }

  private latestSiteVersion(): number | null {
    return latestCalibrationVersion(this.store.db);
  }

  /** The model pack the station reads with, as site calibration keys it; null while none is loaded. */
  sitePack(): SitePack | null {
    if (!this.analyzer) return null;
    const i = this.analyzer.pack.info();
    return { name: i.name, version: i.version, sha256: i.sha256, defaultThreshold: i.tbScoreThreshold, embeddingDim: i.embeddingDim };
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
          const { result: r, embedding, baseLogit } = await analyzeDetailed(analyzer, image);
          const { grid, ...evidenceGeometry } = r.evidence;
          return { tbScore: r.tbScore, label: r.label, result: { ...r, evidence: evidenceGeometry }, evidence: grid, embedding, baseLogit };
        },
      };
      this.queue = new AnalysisQueue(this.store, reader, null, {
        progress: (p) => this.emit('analysis:onProgress', p),
        analyzed: ({ caseId }) => {
          // where a site head is in force, the new reading is scored by it before anyone sees the case change
          try {
            this.site.onAnalysis(caseId);
          } catch {
            // the case keeps the pack's own score; the next re-scoring run tries again
          }
          this.emit('cases:onChanged', { caseIds: [caseId] });
        },
        // images arriving from a modality go first: its sender waits for each C-STORE answer
        yieldTo: () => this.network.receiverQuiet(),
      });
      this.queue.kick();
      // Bring the worklist to the score in force (a re-scoring cut short by a stop, or scores from before a change).
      this.site.rescorer.request();
      // Images, and site calibration versions, can also arrive from another process on the same database (the
      // CLI): look for them now and then.
      let siteVersion = this.latestSiteVersion();
      this.poll = setInterval(() => {
        this.queue?.kick();
        const v = this.latestSiteVersion();
        if (v !== siteVersion) {
          siteVersion = v;
          this.site.versionChanged(v);
        }
      }, QUEUE_POLL_MS);
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

  /**
   * Check that the session may make this call (signed in, not locked, role), then validate and run it in that
   * session (who is acting, whose idle clock); never throws. `session`: a web client's (openSession), else the
   * station's own.
   */
  async dispatch(name: unknown, rawRequest: unknown, session: StationSession = this.station): Promise<CallReply<CallName>> {
    return this.callSession.run(session, async () => {
      if (isCallName(name)) {
        let refusal: { code: string; message: string } | null;
        try {
          refusal = session.authorize(name);
        } catch (e) {
          refusal = toErrorInfo(e);
        }
        if (refusal) return { ok: false, error: refusal };
      }
      return dispatch(this.handlers, name, rawRequest);
    });
  }

  async close(): Promise<void> {
    await this.networkReady;
    await this.network.close();
    await this.analysisReady;
    if (this.poll) clearInterval(this.poll);
    await this.queue?.stop();
    await this.site.close();
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

/** The threshold in force as the worklist and the AI panel show it. */
function operatingThreshold(t: ThresholdInForce): { value: number; source: 'pack' | 'site'; version: number | null; headId: number | null; label: string } {
  return { value: t.value, source: t.source, version: t.version, headId: t.headId, label: t.label };
}

function toAnalysisView(a: ReturnType<CaseStore['getAnalysis']>, inForce: ReturnType<typeof readingInForce>): AnalysisView | null {
  if (!a) return null;
  const r = a.result as Omit<AnalysisView, 'imageId' | 'createdAt' | 'evidence' | 'threshold' | 'inForce'> & {
    threshold?: number;
    evidence?: { width: number; height: number; origin: [number, number]; cell: [number, number] };
  };
  return {
    imageId: a.imageId,
    tbScore: a.tbScore,
    threshold: typeof r.threshold === 'number' && Number.isFinite(r.threshold) ? r.threshold : null,
    inForce: inForce ? { score: inForce.score, headId: inForce.headId, threshold: operatingThreshold(inForce.threshold), flagged: inForce.flagged, note: inForce.note } : null,
    label: a.label,
    probabilities: r.probabilities,
    boxes: r.boxes,
    candidates: r.candidates ?? [],
    displayScore: typeof r.displayScore === 'number' ? r.displayScore : null,
    lungs: r.lungs,
    zones: r.zones,
    evidence: r.evidence && a.evidence ? { ...r.evidence, grid: a.evidence } : null,
    timingsMs: r.timingsMs,
    model: { name: a.model.name, version: a.model.version, ep: a.model.ep },
    createdAt: a.createdAt,
  };
}
