// Contract domain: DICOM networking: the receiver, remote archives, the outgoing queue (issue 7).
// Import shared schemas from './schemas' (never from './index', which imports this module).
import { z } from 'zod';
import { ErrorInfo } from './schemas';

/** An Application Entity title: 1 to 16 characters of the default repertoire, no backslash, not all spaces. */
export const AeTitle = z
  .string()
  .trim()
  .min(1, 'an AE title cannot be empty')
  .max(16, 'an AE title has at most 16 characters')
  .regex(/^[\x20-\x5b\x5d-\x7e]+$/, 'an AE title uses printable ASCII characters only, without backslash');
export const Port = z.number().int().min(1, 'a port is 1 to 65535').max(65535, 'a port is 1 to 65535');

export const ReceiverSettings = z.object({
  enabled: z.boolean(),
  aeTitle: AeTitle,
  port: Port,
  /** calling AE titles allowed to send; empty: any sender */
  whitelist: z.array(AeTitle).max(200),
});
export type ReceiverSettings = z.infer<typeof ReceiverSettings>;

export const NetworkSettings = z.object({
  receiver: ReceiverSettings,
  /** send the signed SR, SEG and PDF to every archive marked "send results" when a case is signed */
  autoSendOnSign: z.boolean(),
});
export type NetworkSettings = z.infer<typeof NetworkSettings>;

export const ReceiverStatus = z.object({
  running: z.boolean(),
  aeTitle: z.string().nullable(),
  port: z.number().int().nullable(),
  since: z.string().nullable(),
  /** why the receiver is not running although it is enabled (port taken, ...) */
  error: ErrorInfo.nullable(),
  /** instances received since it started */
  received: z.number().int(),
});
export type ReceiverStatus = z.infer<typeof ReceiverStatus>;

export const RemoteKind = z.enum(['dimse', 'dicomweb']);
export type RemoteKind = z.infer<typeof RemoteKind>;

export const RemoteView = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: RemoteKind,
  host: z.string().nullable(),
  port: z.number().int().nullable(),
  aeTitle: z.string().nullable(),
  retrieve: z.enum(['C-GET', 'C-MOVE']),
  url: z.string().nullable(),
  username: z.string().nullable(),
  hasPassword: z.boolean(),
  sendResults: z.boolean(),
});
export type RemoteView = z.infer<typeof RemoteView>;

export const RemoteInput = z.object({
  /** absent: a new archive */
  id: z.number().int().optional(),
  name: z.string().trim().min(1, 'give the archive a name').max(64),
  kind: RemoteKind,
  host: z.string().trim().max(253).nullable().default(null),
  port: Port.nullable().default(null),
  aeTitle: AeTitle.nullable().default(null),
  retrieve: z.enum(['C-GET', 'C-MOVE']).default('C-GET'),
  url: z.string().trim().max(2000).nullable().default(null),
  username: z.string().max(200).nullable().default(null),
  /** undefined: keep the stored password; null: remove it */
  password: z.string().max(500).nullable().optional(),
  sendResults: z.boolean().default(false),
});
export type RemoteInput = z.input<typeof RemoteInput>;

export const StudyQuery = z.object({
  remoteId: z.number().int(),
  patientName: z.string().max(64).optional(),
  patientId: z.string().max(64).optional(),
  accessionNumber: z.string().max(16).optional(),
  /** YYYY-MM-DD or YYYYMMDD */
  dateFrom: z.string().max(10).optional(),
  dateTo: z.string().max(10).optional(),
  studyInstanceUid: z.string().max(64).optional(),
  limit: z.number().int().min(1).max(500).default(100),
});
export type StudyQuery = z.input<typeof StudyQuery>;

export const RemoteStudy = z.object({
  studyInstanceUid: z.string(),
  patientName: z.string(),
  patientId: z.string(),
  studyDate: z.string().nullable(),
  accessionNumber: z.string().nullable(),
  description: z.string().nullable(),
  modalities: z.array(z.string()),
  instances: z.number().int().nullable(),
  /** the case on this station's worklist for the same study, if any */
  localCaseId: z.number().int().nullable(),
});
export type RemoteStudy = z.infer<typeof RemoteStudy>;

export const RetrieveResult = z.object({
  imported: z.number().int(),
  duplicates: z.number().int(),
  /** results (SR, SEG, PDF) of the study, left in the archive: the viewer lists them */
  skipped: z.number().int(),
  refused: z.array(z.object({ sopInstanceUid: z.string().nullable(), code: z.string(), message: z.string() })),
  caseIds: z.array(z.number().int()),
});
export type RetrieveResult = z.infer<typeof RetrieveResult>;

export const SendState = z.enum(['pending', 'sending', 'sent', 'failed']);
export type SendState = z.infer<typeof SendState>;
export const SendKind = z.enum(['sr', 'seg', 'pdf', 'image', 'other']);
export type SendKind = z.infer<typeof SendKind>;

export const QueueItem = z.object({
  id: z.number().int(),
  remoteId: z.number().int(),
  remoteName: z.string(),
  caseId: z.number().int().nullable(),
  kind: SendKind,
  sopInstanceUid: z.string(),
  studyInstanceUid: z.string(),
  bytes: z.number().int(),
  state: SendState,
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  /** how delivery was confirmed: the archive's store response, or finding it there after an uncertain attempt */
  verifiedBy: z.enum(['response', 'query']).nullable(),
  enqueuedBy: z.string(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
});
export type QueueItem = z.infer<typeof QueueItem>;

export const QueueCounts = z.object({ pending: z.number().int(), sending: z.number().int(), sent: z.number().int(), failed: z.number().int() });
export type QueueCounts = z.infer<typeof QueueCounts>;

export const ReceivedView = z.object({
  id: z.number().int(),
  via: z.enum(['receiver', 'retrieve']),
  sopInstanceUid: z.string().nullable(),
  callingAe: z.string().nullable(),
  peerAddress: z.string().nullable(),
  remoteName: z.string().nullable(),
  outcome: z.enum(['imported', 'duplicate', 'refused']),
  caseId: z.number().int().nullable(),
  message: z.string().nullable(),
  receivedAt: z.string(),
});
export type ReceivedView = z.infer<typeof ReceivedView>;

/** A result (SR, SEG, encapsulated PDF) of the study found in an archive, possibly made by another station. */
export const ArchiveResult = z.object({
  remoteId: z.number().int(),
  remoteName: z.string(),
  sopInstanceUid: z.string(),
  sopClassUid: z.string().nullable(),
  seriesInstanceUid: z.string().nullable(),
  modality: z.string().nullable(),
  kind: SendKind,
  seriesDescription: z.string().nullable(),
  contentDate: z.string().nullable(),
  contentTime: z.string().nullable(),
  /** this station queued it (it is in the outgoing queue) */
  ours: z.boolean(),
});
export type ArchiveResult = z.infer<typeof ArchiveResult>;

const SettingsView = z.object({ settings: NetworkSettings, receiver: ReceiverStatus });

export const networkCalls = {
  'network:getSettings': { request: z.object({}), response: SettingsView },
  'network:setSettings': { request: NetworkSettings, response: SettingsView },
  'network:listRemotes': { request: z.object({}), response: z.array(RemoteView) },
  'network:saveRemote': { request: RemoteInput, response: RemoteView },
  'network:removeRemote': { request: z.object({ id: z.number().int() }), response: z.object({ removed: z.boolean() }) },
  'network:echo': { request: z.object({ remoteId: z.number().int() }), response: z.object({ ms: z.number() }) },
  'network:query': { request: StudyQuery, response: z.object({ studies: z.array(RemoteStudy) }) },
  'network:retrieve': { request: z.object({ remoteId: z.number().int(), studyInstanceUid: z.string().min(1).max(64) }), response: RetrieveResult },
  /** queue the case's signed SR, SEG and encapsulated PDF for the archives (one, or every "send results" archive) */
  'network:sendResults': { request: z.object({ caseId: z.number().int(), remoteId: z.number().int().optional() }), response: z.object({ queued: z.array(QueueItem) }) },
  'network:queue': {
    request: z.object({ state: SendState.optional(), caseId: z.number().int().optional(), limit: z.number().int().min(1).max(500).default(100) }),
    response: z.object({ items: z.array(QueueItem), counts: QueueCounts }),
  },
  /** try a failed (or waiting) send again now */
  'network:retry': { request: z.object({ id: z.number().int() }), response: QueueItem },
  'network:received': { request: z.object({ limit: z.number().int().min(1).max(500).default(50) }), response: z.array(ReceivedView) },
  /** the SR, SEG and PDF results of the case's study held by the archives (other stations' included) */
  'network:studyResults': {
    request: z.object({ caseId: z.number().int() }),
    response: z.object({ results: z.array(ArchiveResult), errors: z.array(z.object({ remoteName: z.string(), code: z.string(), message: z.string() })) }),
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const networkEvents = {
  'network:onReceiver': ReceiverStatus,
  'network:onReceived': z.object({ caseId: z.number().int().nullable(), outcome: z.enum(['imported', 'duplicate', 'refused']), callingAe: z.string().nullable() }),
  /** the queue changed; `problem`: an automatic send on sign-off could not be queued, and why */
  'network:onQueue': z.object({ counts: QueueCounts, changedId: z.number().int().nullable(), problem: z.object({ caseId: z.number().int(), code: z.string(), message: z.string() }).optional() }),
} as const satisfies Record<string, z.ZodType>;
