// Handlers of the accounts domain of the contract (electron/contract/accounts.ts): the station's session, user
// management, sign-off and the audit log. Who may call what is checked before a handler runs (StationSession.authorize,
// from the Workstation's dispatcher); the handlers check what depends on the data (e.g. the case's state).
import type { accountCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';
import { AppError } from '../../errors';
import { auditReadRefusal, changeOwnPassword, createUser, getSettings, listAudit, listUsers, loadSignature, openAmendment, setSettings, signCase, signoffState, updateUser, verifyAudit, type StationSession } from '../../accounts/index';

/**
 * `session()`: the session of the call being handled (a web client's, or the station's own); `refreshAll()`: after an
 * account changes, every session signed in with it follows.
 */
export function accountHandlers(ctx: HandlerContext, session: () => StationSession, refreshAll: () => void): DomainHandlers<typeof accountCalls> {
  const db = ctx.store.db;
  /** the signed-in account, for the services that need its id and role */
  const me = () => {
    const u = session().currentUser();
    return { userId: u.id, username: u.username, displayName: u.displayName, role: u.role };
  };
  const caseChanged = (caseId: number) => ctx.emit('cases:onChanged', { caseIds: [caseId] });
  return {
    'accounts:session': () => session().snapshot(),
    'accounts:setupAdmin': (r) => session().setupAdmin(r),
    'accounts:login': (r) => session().login(r.username, r.password),
    'accounts:logout': () => session().logout(),
    'accounts:unlock': (r) => session().unlock(r.password),
    // authorize() already counted the call as activity
    'accounts:activity': () => session().snapshot(),
    'accounts:lock': () => session().lock(),
    'accounts:changePassword': async (r) => {
      await changeOwnPassword(db, me().userId, r.currentPassword, r.newPassword);
      return { changed: true as const };
    },
    'accounts:listUsers': () => ({ users: listUsers(db) }),
    'accounts:createUser': (r) => createUser(db, r, me()),
    'accounts:updateUser': async ({ userId, ...change }) => {
      const u = await updateUser(db, userId, change, me());
      refreshAll();
      return u;
    },
    'accounts:getSettings': () => getSettings(db),
    'accounts:setSettings': (r) => {
      const s = setSettings(db, r, me());
      // the new idle limit counts from now, not from the last action
      ctx.session.lastActivityMs = Date.now();
      return s;
    },
    'accounts:signoff': ({ caseId }) => signoffState(db, caseId),
    'accounts:sign': ({ caseId }) => {
      const s = signCase(db, caseId, me());
      caseChanged(caseId);
      return s;
    },
    'accounts:amend': ({ caseId, reason }) => {
      const s = openAmendment(db, caseId, reason, me());
      caseChanged(caseId);
      return s;
    },
    'accounts:signature': ({ signatureId }) => loadSignature(db, signatureId),
    'accounts:audit': (q) => {
      const refusal = auditReadRefusal(me(), q);
      if (refusal) throw new AppError('FORBIDDEN', refusal);
      return { entries: listAudit(db, q) };
    },
    'accounts:verifyAudit': () => {
      const v = verifyAudit(db);
      return v.ok ? { ok: true, entries: v.entries, headSha256: v.headSha256, brokenAt: null, reason: null } : { ok: false, entries: v.entries, headSha256: null, brokenAt: v.brokenAt, reason: v.reason };
    },
  };
}
