// Contract domain: Installation and operation: first run, backup and restore, data protection (issue 6).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';
import { ErrorInfo } from './schemas';

/** Where the case store is and how that was decided. */
export const DataFolderView = z.object({
  /** the folder holding the database, its key file and its blob folder */
  dataDir: z.string(),
  dbPath: z.string(),
  /** env: CXR_DB; chosen: picked at first run; default: the user-data folder; argument: `cxr serve --db` */
  source: z.enum(['env', 'chosen', 'default', 'argument']),
  /** free space on the disk holding it, in bytes (null where the platform cannot say) */
  freeBytes: z.number().nullable(),
});
export type DataFolderView = z.infer<typeof DataFolderView>;

/** The bundled model pack, checked now: manifest read and model.onnx hashed against the manifest's sha256. */
export const ModelPackView = z.object({
  dir: z.string().nullable(),
  /** verified: the checksum matches; failed: missing, damaged or replaced (see error); none: no pack configured */
  status: z.enum(['verified', 'failed', 'none']),
  name: z.string().nullable(),
  version: z.string().nullable(),
  /** sha256 of model.onnx as read from disk now */
  sha256: z.string().nullable(),
  /** sha256 the manifest declares */
  expectedSha256: z.string().nullable(),
  bytes: z.number().int().nullable(),
  createdUtc: z.string().nullable(),
  intendedUse: z.string().nullable(),
  /** MODEL_CARD.md as plain Markdown text (shown formatted, never as HTML) */
  card: z.string().nullable(),
  error: ErrorInfo.nullable(),
  verifiedMs: z.number().nullable(),
});
export type ModelPackView = z.infer<typeof ModelPackView>;

/** The execution provider that runs the model (the analysis status knows the active one). */
export const ExecutionView = z.object({
  /** 'cpu' | 'cuda' | 'dml', or null while the model is not loaded (or failed to load) */
  active: z.string().nullable(),
  requested: z.string().nullable(),
  /** why the requested provider is not the one running */
  fallbackReason: z.string().nullable(),
  /** the GPU provider this platform would use when present */
  gpuCandidate: z.enum(['cuda', 'dml']).nullable(),
  /** the model is still being loaded: ask again after the next analysis:onProgress */
  loading: z.boolean(),
});
export type ExecutionView = z.infer<typeof ExecutionView>;

export const SystemStatus = z.object({
  appName: z.string(),
  appVersion: z.string(),
  transport: z.enum(['ipc', 'http']),
  platform: z.string(),
  arch: z.string(),
  dataFolder: DataFolderView,
  model: ModelPackView,
  execution: ExecutionView,
});
export type SystemStatus = z.infer<typeof SystemStatus>;

/** A backup archive (`.cxrbak`): the whole case store, database and images, encrypted with the store's key. */
export const BackupSummary = z.object({
  path: z.string(),
  createdAt: z.string(),
  bytes: z.number(),
  cases: z.number().int(),
  images: z.number().int(),
  /** true when a recovery passphrase was set, so that the backup can be restored on another station */
  portable: z.boolean(),
});
export type BackupSummary = z.infer<typeof BackupSummary>;

export const DataProtectionView = z.object({
  /** the database (SQLCipher) and the image files (AES-256-GCM) are always encrypted */
  encrypted: z.literal(true),
  keyFile: z.string(),
  /** os: the operating system's key store (desktop app); passphrase: the recovery passphrase; file: the key file alone */
  protectors: z.array(z.enum(['os', 'passphrase', 'file'])),
  osBackend: z.string().nullable(),
  passphraseSetAt: z.string().nullable(),
});
export type DataProtectionView = z.infer<typeof DataProtectionView>;

export const systemCalls = {
  /** Everything the first-run and About screens show; verifies the model pack's checksum each time it is asked. */
  'system:status': { request: z.object({}), response: SystemStatus },
  // --- backup and restore (data helper) ---
  /** How the case store is protected at rest (key file, its protectors). */
  'system:dataProtection': { request: z.object({}), response: DataProtectionView },
  /** Set or replace the recovery passphrase (administrator): lets backups open on another station. */
  'system:setRecoveryPassphrase': { request: z.object({ passphrase: z.string().min(12).max(1024) }), response: DataProtectionView },
  /** The backups in a folder (default: the data folder's `backups`), newest first; damaged files are left out. */
  'system:listBackups': { request: z.object({ folder: z.string().min(1).max(4096).optional() }), response: z.object({ folder: z.string(), backups: z.array(BackupSummary) }) },
  /** Back up the whole store now, while the station keeps working, into `folder` (default as above). */
  'system:backup': { request: z.object({ folder: z.string().min(1).max(4096).optional() }), response: BackupSummary },
  /**
   * Check a backup completely and stage it to replace the store at the next start (the app restarts to finish;
   * the current store is kept in a before-restore folder). `confirm` must be true: it replaces every case.
   */
  'system:restore': {
    request: z.object({ path: z.string().min(1).max(4096), confirm: z.literal(true), passphrase: z.string().max(1024).optional() }),
    response: z.object({ restored: BackupSummary, previous: z.string(), restartRequired: z.boolean() }),
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const systemEvents = {
  /** A restore was staged: the app must restart to put it in place (the desktop app relaunches itself). */
  'system:onRestartRequired': z.object({ reason: z.string() }),
} as const satisfies Record<string, z.ZodType>;
