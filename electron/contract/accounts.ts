// Contract domain: Users, roles, sessions, sign-off, amendments and the audit log (issue 5).
// Import shared schemas from './schemas' (never from './index', which imports this module).
//
// The station has one session (one seat). Before any account exists only `accounts:setupAdmin` (and the calls that
// say where the station stands) is answered; afterwards every call but app:info and the calls below marked "open"
// needs a signed-in user (AUTH_REQUIRED), and an idle session is locked until its password is given again
// (SESSION_LOCKED). Role rules: administrators manage accounts and settings, radiologists sign and amend (and edit
// findings and reports), technicians import and view.
import { z } from 'zod';
import { CaseStatus } from './schemas';

export const Role = z.enum(['radiologist', 'technician', 'administrator']);
export type Role = z.infer<typeof Role>;

export const ROLE_NAMES: Record<Role, string> = { radiologist: 'Radiologist', technician: 'Technician', administrator: 'Administrator' };

export const Username = z.string().trim().min(1).max(64);
export const Password = z.string().min(1).max(256);

export const UserView = z.object({
  id: z.number().int(),
  username: z.string(),
  displayName: z.string(),
  role: Role,
  /** a radiologist marked lead radiologist: calibrates the site, with the administrators */
  lead: z.boolean(),
  createdAt: z.string(),
  disabled: z.boolean(),
  lockedUntil: z.string().nullable(),
  lastLoginAt: z.string().nullable(),
});
export type UserView = z.infer<typeof UserView>;

export const SessionView = z.object({
  /** no account exists yet: the station asks for the first administrator */
  setupRequired: z.boolean(),
  user: z.object({ id: z.number().int(), username: z.string(), displayName: z.string(), role: Role, lead: z.boolean() }).nullable(),
  /** the session is idle-locked: the same user gives the password again (or another user signs in) */
  locked: z.boolean(),
  /** minutes without activity before the station locks; 0: never */
  idleLockMinutes: z.number().int(),
});
export type SessionView = z.infer<typeof SessionView>;

export const AccountSettings = z.object({ idleLockMinutes: z.number().int().min(0).max(480) });
export type AccountSettings = z.infer<typeof AccountSettings>;

export const AmendmentView = z.object({
  id: z.number().int(),
  reason: z.string(),
  openedBy: z.string(),
  openedAt: z.string(),
  amendsSignatureId: z.number().int(),
  signatureId: z.number().int().nullable(),
});
export type AmendmentView = z.infer<typeof AmendmentView>;

export const SignatureView = z.object({
  id: z.number().int(),
  sequence: z.number().int(),
  signerId: z.number().int(),
  signerName: z.string(),
  signedAt: z.string(),
  contentSha256: z.string(),
  reportPresent: z.boolean(),
  amendment: AmendmentView.nullable(),
});
export type SignatureView = z.infer<typeof SignatureView>;

export const SignoffView = z.object({
  caseId: z.number().int(),
  status: CaseStatus,
  signed: z.boolean(),
  /** signed and no amendment open: report and annotations cannot change */
  locked: z.boolean(),
  openAmendment: AmendmentView.nullable(),
  /** AI findings no one has accepted or rejected yet */
  undecidedFindings: z.number().int(),
  /** newest first */
  signatures: z.array(SignatureView),
});
export type SignoffView = z.infer<typeof SignoffView>;

const SignedFinding = z.object({ id: z.string(), label: z.string(), x: z.number(), y: z.number(), w: z.number(), h: z.number(), state: z.string() }).passthrough();

/** A signed version exactly as it was signed. */
export const SignedRecordView = z.object({
  signature: SignatureView,
  /** the stored snapshot still hashes to the signed hash */
  intact: z.boolean(),
  content: z.object({
    format: z.string(),
    case: z.object({ caseId: z.number().int(), studyInstanceUid: z.string(), patientId: z.string(), patientName: z.string(), accessionNumber: z.string().nullable(), studyDate: z.string().nullable() }),
    images: z.array(
      z.object({
        imageId: z.number().int(),
        sopInstanceUid: z.string(),
        pixelSha256: z.string(),
        annotations: z.object({
          version: z.number().int(),
          author: z.string().nullable(),
          savedAt: z.string().nullable(),
          analysisId: z.number().int().nullable(),
          findings: z.array(SignedFinding),
          masks: z.array(z.object({ id: z.string(), label: z.string(), source: z.string(), width: z.number().int(), height: z.number().int(), sha256: z.string() })),
        }),
        /** the AI score and threshold in force when signed (absent in signatures made before the station kept them) */
        ai: z
          .object({ tbScore: z.number(), threshold: z.number(), modelName: z.string(), modelVersion: z.string(), thresholdSource: z.enum(['pack', 'site']).optional(), thresholdVersion: z.number().int().nullable().optional(), siteHead: z.number().int().nullable().optional() })
          .nullable()
          .optional(),
      }),
    ),
    report: z.unknown().nullable(),
    amendment: z.object({ id: z.number().int(), reason: z.string(), openedBy: z.string(), openedAt: z.string(), amendsSequence: z.number().int() }).nullable(),
  }),
});
export type SignedRecordView = z.infer<typeof SignedRecordView>;

export const AuditEntryView = z.object({
  id: z.number().int(),
  at: z.string(),
  actorId: z.number().int().nullable(),
  actorName: z.string(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevSha256: z.string(),
  sha256: z.string(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;

export const AuditVerdictView = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  headSha256: z.string().nullable(),
  brokenAt: z.number().int().nullable(),
  reason: z.string().nullable(),
});
export type AuditVerdictView = z.infer<typeof AuditVerdictView>;

const empty = z.object({}).strict();
const caseRef = z.object({ caseId: z.number().int().positive() });

export const accountCalls = {
  /** open: where the station stands (setup needed, who is signed in, locked) */
  'accounts:session': { request: empty, response: SessionView },
  /** open, only while no account exists: create the first administrator and sign them in */
  'accounts:setupAdmin': { request: z.object({ username: Username, displayName: z.string().trim().min(1).max(200), password: Password }), response: SessionView },
  /** open: sign in (replaces whoever was signed in, also from the lock screen) */
  'accounts:login': { request: z.object({ username: Username, password: Password }), response: SessionView },
  /** open */
  'accounts:logout': { request: empty, response: SessionView },
  /** open: the locked session's user gives the password again */
  'accounts:unlock': { request: z.object({ password: Password }), response: SessionView },
  /** the person at the page is active (input without calls, e.g. reading an image): keeps the idle lock away */
  'accounts:activity': { request: empty, response: SessionView },
  /** lock the station now (the page's idle timer, or a "lock" button) */
  'accounts:lock': { request: empty, response: SessionView },
  'accounts:changePassword': { request: z.object({ currentPassword: Password, newPassword: Password }), response: z.object({ changed: z.literal(true) }) },
  /** administrators */
  'accounts:listUsers': { request: empty, response: z.object({ users: z.array(UserView) }) },
  'accounts:createUser': { request: z.object({ username: Username, displayName: z.string().trim().min(1).max(200), role: Role, password: Password, lead: z.boolean().optional() }), response: UserView },
  'accounts:updateUser': {
    request: z.object({ userId: z.number().int().positive(), displayName: z.string().trim().min(1).max(200).optional(), role: Role.optional(), lead: z.boolean().optional(), disabled: z.boolean().optional(), password: Password.optional() }),
    response: UserView,
  },
  'accounts:getSettings': { request: empty, response: AccountSettings },
  'accounts:setSettings': { request: AccountSettings, response: AccountSettings },
  /** sign-off */
  'accounts:signoff': { request: caseRef, response: SignoffView },
  'accounts:sign': { request: caseRef, response: SignoffView },
  'accounts:amend': { request: z.object({ caseId: z.number().int().positive(), reason: z.string().max(2000) }), response: SignoffView },
  'accounts:signature': { request: z.object({ signatureId: z.number().int().positive() }), response: SignedRecordView },
  /** the audit log: a case's or an image's entries for anyone signed in, one's own account's entries; everything else for administrators */
  'accounts:audit': {
    request: z.object({ targetType: z.string().max(40).optional(), targetId: z.string().max(100).optional(), limit: z.number().int().min(1).max(1000).default(200), beforeId: z.number().int().optional() }),
    response: z.object({ entries: z.array(AuditEntryView) }),
  },
  'accounts:verifyAudit': { request: empty, response: AuditVerdictView },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export const accountEvents = {
  /** the session changed (sign-in, sign-out, lock): every window of the station follows */
  'accounts:onSession': SessionView,
} as const satisfies Record<string, z.ZodType>;
