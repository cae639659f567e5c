// Accounts, sign-off and the audit log (issue 5): the core services, for the API handlers, the CLI and the other
// domains (which call assertCaseEditable before writing a case and appendAudit to record what they wrote).
export { appendAudit, verifyAudit, listAudit, canonicalJson, GENESIS_HASH, type AuditEntry, type AuditEntryInput, type AuditActor, type AuditVerdict } from './audit';
export { assertCaseEditable, assertImageEditable, caseLockState, caseOfImage, type CaseLockState } from './lock';
export { hashPassword, verifyPassword, passwordProblem, DEFAULT_PARAMS } from './passwords';
export { ROLES, createUser, updateUser, listUsers, getUser, countUsers, authenticate, changeOwnPassword, getSettings, setSettings, MAX_FAILED_LOGINS, LOCKOUT_MINUTES, type Role, type User } from './users';
export { signCase, openAmendment, signoffState, loadSignature, snapshotCase, type SignoffState, type SignedContent, type SignedRecord } from './signoff';
export { StationSession, type SessionSnapshot, type SessionState } from './session';
export { OPEN_CALLS, ROLE_RULES, LEAD_CALLS, SHARED_AUDIT_TARGETS, auditReadRefusal, roleRefusal } from './policy';
