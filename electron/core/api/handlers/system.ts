// Handlers of the system domain of the contract (electron/contract/system.ts): what the first-run and About screens
// show (data folder, model pack verified by checksum with its card, execution provider).
import fs from 'node:fs';
import path from 'node:path';
import type { systemCalls, AnalysisProgress, ExecutionView, ModelPackView, DataFolderView } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';
import { verifyPackFiles } from '../../inference/index';
import { cardForReaders } from '../../inference/card';
import { toErrorInfo } from '../../errors';
import { createBackup, listBackups, restoreBackup } from '../../backup/index';
import { protectionStatus, setRecoveryPassphrase } from '../../crypto/index';

/** Where backups go unless the administrator names another folder (another disk is better: see SECURITY.md). */
export function defaultBackupFolder(dataDir: string): string {
  return path.join(dataDir, 'backups');
}

/** A model card larger than this is cut (a card is a few pages of text; this bounds what crosses the wire). */
export const MAX_CARD_CHARS = 200_000;

/** What the Workstation knows about how it was started, for the system calls. */
export interface SystemSources {
  appName: string;
  appVersion: string;
  /** how the database path was decided (the desktop app and the CLI say; default: given as an argument) */
  dbSource: DataFolderView['source'];
  /** the bundled model pack folder, or null when the station runs without one */
  modelDir: string | null;
  analysis(): AnalysisProgress;
  /** the running analyzer's provider, or null before the model is loaded */
  execution(): { ep: string; requested: string; fallbackReason: string | null } | null;
  /** the model pack is still being loaded (checked, ONNX session created) */
  modelLoading(): boolean;
}

function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** Verify the pack now (manifest + checksum) and read its card; every failure becomes a reason, never a throw. */
export function modelPackView(dir: string | null): ModelPackView {
  const empty: Omit<ModelPackView, 'dir' | 'status' | 'error'> = { name: null, version: null, sha256: null, expectedSha256: null, bytes: null, createdUtc: null, intendedUse: null, card: null, verifiedMs: null };
  if (!dir) return { dir: null, status: 'none', ...empty, error: { code: 'MODEL_MISSING', message: 'No model pack is configured: images are not analysed.' } };
  const t0 = performance.now();
  try {
    const v = verifyPackFiles(dir);
    let card: string | null = null;
    if (v.modelCard) {
      card = cardForReaders(fs.readFileSync(v.modelCard, 'utf8'));
      if (card.length > MAX_CARD_CHARS) card = `${card.slice(0, MAX_CARD_CHARS)}\n\n(The model card is longer than ${MAX_CARD_CHARS} characters; the rest is in the model pack.)`;
    }
    return {
      dir,
      status: 'verified',
      name: v.name,
      version: v.version,
      sha256: v.sha256,
      expectedSha256: v.sha256,
      bytes: v.bytes,
      createdUtc: v.createdUtc,
      intendedUse: v.intendedUse,
      card,
      error: null,
      verifiedMs: performance.now() - t0,
    };
  } catch (e) {
    let expected: string | null = null;
    try {
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { model_sha256?: unknown; name?: unknown; version?: unknown };
      expected = typeof m.model_sha256 === 'string' ? m.model_sha256.toLowerCase() : null;
      empty.name = typeof m.name === 'string' ? m.name : null;
      empty.version = typeof m.version === 'string' ? m.version : null;
    } catch {
      // the error below already says what is wrong with the manifest
    }
    return { dir, status: 'failed', ...empty, expectedSha256: expected, error: toErrorInfo(e), verifiedMs: performance.now() - t0 };
  }
}

export function executionView(analysis: AnalysisProgress, running: ReturnType<SystemSources['execution']>, loading = false, platform: NodeJS.Platform = process.platform): ExecutionView {
  const gpuCandidate = platform === 'linux' ? 'cuda' : platform === 'win32' ? 'dml' : null;
  if (running) return { active: running.ep, requested: running.requested, fallbackReason: running.fallbackReason, gpuCandidate, loading: false };
  if (loading) return { active: null, requested: null, fallbackReason: null, gpuCandidate, loading: true };
  return { active: analysis.model?.ep ?? null, requested: null, fallbackReason: analysis.modelError?.message ?? null, gpuCandidate, loading: false };
}

export function systemHandlers(ctx: HandlerContext, sources: SystemSources): DomainHandlers<typeof systemCalls> {
  return {
    'system:status': () => {
      const dataDir = ctx.store.dataDir;
      return {
        appName: sources.appName,
        appVersion: sources.appVersion,
        transport: ctx.transport,
        platform: process.platform,
        arch: process.arch,
        dataFolder: { dataDir, dbPath: ctx.store.dbPath, source: sources.dbSource, freeBytes: freeBytes(dataDir) },
        model: modelPackView(sources.modelDir),
        execution: executionView(sources.analysis(), sources.execution(), sources.modelLoading()),
      };
    },
    // --- backup and restore (data helper) ---
    'system:dataProtection': () => ({ encrypted: true as const, ...protectionStatus(ctx.store.keyPath) }),
    'system:setRecoveryPassphrase': ({ passphrase }) => {
      setRecoveryPassphrase(ctx.store.keyPath, ctx.store.dataKey(), passphrase, {});
      return { encrypted: true as const, ...protectionStatus(ctx.store.keyPath) };
    },
    'system:listBackups': ({ folder }) => {
      const dir = folder ? path.resolve(folder) : defaultBackupFolder(ctx.store.dataDir);
      return { folder: dir, backups: listBackups(dir) };
    },
    'system:backup': async ({ folder }) => {
      const dir = folder ? path.resolve(folder) : defaultBackupFolder(ctx.store.dataDir);
      if (!folder) fs.mkdirSync(dir, { recursive: true });
      return createBackup(ctx.store, dir, { name: sources.appName, version: sources.appVersion });
    },
    'system:restore': ({ path: file, passphrase }) => {
      // Checked in full now; the swap happens when the store is next opened, so the app restarts to finish.
      const r = restoreBackup(path.resolve(file), ctx.store.dbPath, passphrase ? { passphrase } : {}, 'next-start');
      ctx.emit('system:onRestartRequired', { reason: `A backup of ${r.summary.createdAt} was checked and will replace the case store when the app restarts.` });
      return { restored: r.summary, previous: r.previous, restartRequired: true };
    },
  };
}
