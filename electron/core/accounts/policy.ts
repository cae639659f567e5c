// Who may make which call. Enforced once, in the Workstation's dispatcher, for every transport (Electron IPC, the
// local web server, tests), before the request is even parsed.
import type { Role } from './users';

/** Answered without a signed-in user: what the station is, where its session stands, and the ways in and out. */
export const OPEN_CALLS: ReadonlySet<string> = new Set(['app:info', 'accounts:session', 'accounts:setupAdmin', 'accounts:login', 'accounts:logout', 'accounts:unlock', 'system:status']);

/** Answered while the session is idle-locked (besides the open calls). */
export const LOCKED_CALLS: ReadonlySet<string> = new Set(['accounts:lock']);

/**
 * Calls only some roles may make. Every other call is open to any signed-in user: viewing, importing and the
 * exports. Writes to a case's findings or report are the radiologist's (technicians import and view).
 */
export const ROLE_RULES: Readonly<Record<string, readonly Role[]>> = {
  'accounts:listUsers': ['administrator'],
  'accounts:createUser': ['administrator'],
  'accounts:updateUser': ['administrator'],
  'accounts:setSettings': ['administrator'],
  'accounts:verifyAudit': ['administrator'],
  'accounts:sign': ['radiologist'],
  'accounts:amend': ['radiologist'],
  'annotations:save': ['radiologist'],
  'report:save': ['radiologist'],
  'report:redraft': ['radiologist'],
  // Station administration: whole-store backups, restores and the key's recovery passphrase.
  'system:backup': ['administrator'],
  'system:restore': ['administrator'],
  'system:setRecoveryPassphrase': ['administrator'],
  'system:listBackups': ['administrator'],
  // The station's place on the network: what it listens on, whom it accepts, which archives it talks to.
  'network:setSettings': ['administrator'],
  'network:saveRemote': ['administrator'],
  'network:removeRemote': ['administrator'],
  // Reference results of cases: entered or imported by the people who read or run the station.
  'site:addResult': ['radiologist', 'administrator'],
  'site:withdrawResult': ['radiologist', 'administrator'],
  'site:previewImport': ['radiologist', 'administrator'],
  'site:importResults': ['radiologist', 'administrator'],
};

/**
 * Calls for administrators and lead radiologists (a radiologist account an administrator marked as lead): the
 * site's calibration view, its threshold and its site head change what every reader at the station sees flagged.
 */
export const LEAD_CALLS: ReadonlySet<string> = new Set([
  'site:calibration', 'site:history', 'site:setThreshold', 'site:rollback', 'site:heads', 'site:fitHead', 'site:activateHead', 'site:drift',
]);

/** Calls the page makes by itself (polling, following events): they do not keep an idle session awake. */
export const PASSIVE_CALLS: ReadonlySet<string> = new Set(['app:info', 'accounts:session', 'analysis:status', 'accounts:lock', 'system:status']);

const ROLE_WORDS: Record<Role, string> = { radiologist: 'a radiologist', technician: 'a technician', administrator: 'an administrator' };

/** Why `role` (a lead radiologist when `lead`) may not make `call`, or null when it may. */
export function roleRefusal(call: string, role: Role | null, lead = false): string | null {
  if (LEAD_CALLS.has(call)) {
    if (role === 'administrator' || (role === 'radiologist' && lead)) return null;
    return `Only an administrator or a lead radiologist can do this (${call}); you are signed in as ${role === 'radiologist' ? 'a radiologist who is not marked lead' : role ? ROLE_WORDS[role] : 'no role'}.`;
  }
  const allowed = ROLE_RULES[call];
  if (!allowed || (role && allowed.includes(role))) return null;
  const who = allowed.map((r) => ROLE_WORDS[r]).join(' or ');
  return `Only ${who} can do this (${call}); you are signed in as ${role ? ROLE_WORDS[role] : 'no role'}.`;
}

/** Audit targets whose history anyone signed in may read: the cases and images they work on. */
export const SHARED_AUDIT_TARGETS: ReadonlySet<string> = new Set(['case', 'image']);

/**
 * Why `reader` may not read the audit entries `query` asks for, or null when they may. A case's or an image's history
 * is for anyone signed in (it is part of the case they read); a person's own account history (sign-ins, password
 * changes) is theirs; everything else (other accounts, the station's settings, the whole log) is the administrator's.
 */
export function auditReadRefusal(reader: { userId: number; role: Role | null }, query: { targetType?: string; targetId?: string }): string | null {
  if (reader.role === 'administrator') return null;
  const { targetType, targetId } = query;
  if (targetType === undefined || targetId === undefined) return 'Only an administrator can read the whole audit log; others can read the history of a case.';
  if (SHARED_AUDIT_TARGETS.has(targetType)) return null;
  if (targetType === 'user' && targetId === String(reader.userId)) return null;
  if (targetType === 'user') return 'Only an administrator can read the history of another account; you can read your own.';
  return `Only an administrator can read the audit entries of ${targetType}.`;
}
