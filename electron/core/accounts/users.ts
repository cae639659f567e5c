// Local user accounts: create, list, change, disable, and password login with a lock-out after repeated failures.
// Every change and every login attempt (successful or not) is written to the audit log in the same transaction.
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';
import { appendAudit, type AuditActor } from './audit';
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from './passwords';

export const ROLES = ['radiologist', 'technician', 'administrator'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  /** a radiologist marked lead radiologist: calibrates the site, with the administrators */
  lead: boolean;
  createdAt: string;
  disabled: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
}

/** Failed attempts in a row that lock an account, and for how long. */
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MINUTES = 5;

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  lead: 0 | 1;
  password_hash: string;
  created_at: string;
  disabled_at: string | null;
  failed_logins: number;
  locked_until: string | null;
  last_login_at: string | null;
}

function toUser(r: UserRow): User {
  return { id: r.id, username: r.username, displayName: r.display_name, role: r.role, lead: r.lead === 1, createdAt: r.created_at, disabled: r.disabled_at !== null, lockedUntil: r.locked_until, lastLoginAt: r.last_login_at };
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkUsername(username: string): string {
  const u = username.trim();
  if (!USERNAME.test(u)) throw new AppError('BAD_REQUEST', 'A user name has 1 to 64 characters: letters, digits, dot, dash or underscore, starting with a letter or digit.');
  return u;
}

function checkDisplayName(name: string): string {
  const n = name.trim();
  if (n.length < 1 || n.length > 200) throw new AppError('BAD_REQUEST', 'The full name (as it appears on signed reports) needs 1 to 200 characters.');
  return n;
}

function checkPassword(password: string, username: string): void {
  const problem = passwordProblem(password, username);
  if (problem) throw new AppError('BAD_REQUEST', problem);
}

export function countUsers(db: Database): number {
  return db.prepare('SELECT count(*) FROM users').pluck().get() as number;
}

export function countActiveAdmins(db: Database): number {
  return db.prepare("SELECT count(*) FROM users WHERE role = 'administrator' AND disabled_at IS NULL").pluck().get() as number;
}

export function listUsers(db: Database): User[] {
  return (db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
}

export function getUser(db: Database, id: number): User {
  const r = db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
  if (!r) throw new AppError('NOT_FOUND', `There is no user ${id}.`);
  return toUser(r);
}

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  password: string;
  /** lead radiologist (radiologists only) */
  lead?: boolean;
}

function checkLead(role: Role, lead: boolean | undefined): void {
  if (lead && role !== 'radiologist') throw new AppError('BAD_REQUEST', 'Only a radiologist account can be a lead radiologist (administrators calibrate the site anyway).');
}

/** Create an account. `firstAdministrator`: only allowed (and only as an administrator) while no account exists. */
export async function createUser(db: Database, input: NewUser, actor: AuditActor, opts: { firstAdministrator?: boolean; now?: string } = {}): Promise<User> {
  const username = checkUsername(input.username);
  const displayName = checkDisplayName(input.displayName);
  if (!ROLES.includes(input.role)) throw new AppError('BAD_REQUEST', `Unknown role ${String(input.role)}; roles: ${ROLES.join(', ')}.`);
  checkLead(input.role, input.lead);
  checkPassword(input.password, username);
  const hash = await hashPassword(input.password);
  const now = opts.now ?? new Date().toISOString();
  return db.transaction(() => {
    const existing = countUsers(db);
    if (opts.firstAdministrator) {
      if (existing > 0) throw new AppError('FORBIDDEN', 'This station already has accounts; an administrator creates new ones.');
      if (input.role !== 'administrator') throw new AppError('BAD_REQUEST', 'The first account must be an administrator.');
    }
    if (db.prepare('SELECT 1 FROM users WHERE username = ?').get(username)) throw new AppError('BAD_REQUEST', `The user name ${username} is taken.`);
    const id = Number(
      db
        .prepare('INSERT INTO users (username, display_name, role, lead, password_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(username, displayName, input.role, input.lead ? 1 : 0, hash, now, actor.username).lastInsertRowid,
    );
    appendAudit(db, { actor: actor.userId === null && actor.username === username ? { userId: id, username } : actor, action: opts.firstAdministrator ? 'user.setup_admin' : 'user.create', target: { type: 'user', id }, details: { username, displayName, role: input.role, ...(input.lead ? { lead: true } : {}) } }, now);
    return getUser(db, id);
  }).immediate();
}

export interface UserChange {
  displayName?: string;
  role?: Role;
  /** lead radiologist (radiologists only; a change of role away from radiologist clears it) */
  lead?: boolean;
  disabled?: boolean;
  password?: string;
}

/** An administrator's change to an account. Never leaves the station without an active administrator. */
export async function updateUser(db: Database, id: number, change: UserChange, actor: AuditActor, now: string = new Date().toISOString()): Promise<User> {
  const before = getUser(db, id);
  const displayName = change.displayName !== undefined ? checkDisplayName(change.displayName) : undefined;
  if (change.role !== undefined && !ROLES.includes(change.role)) throw new AppError('BAD_REQUEST', `Unknown role ${String(change.role)}.`);
  if (change.password !== undefined) checkPassword(change.password, before.username);
  const hash = change.password !== undefined ? await hashPassword(change.password) : undefined;
  return db.transaction(() => {
    const current = getUser(db, id);
    const losesAdmin = current.role === 'administrator' && !current.disabled && ((change.role !== undefined && change.role !== 'administrator') || change.disabled === true);
    if (losesAdmin && countActiveAdmins(db) <= 1) throw new AppError('BAD_REQUEST', `${current.username} is the only active administrator; create another administrator first.`);
    if (change.disabled === true && actor.userId === id) throw new AppError('BAD_REQUEST', 'You cannot disable your own account.');
    const details: Record<string, unknown> = {};
    if (displayName !== undefined && displayName !== current.displayName) {
      db.prepare('UPDATE users SET display_name = ? WHERE id = ?').run(displayName, id);
      details.displayName = { from: current.displayName, to: displayName };
    }
    if (change.role !== undefined && change.role !== current.role) {
      db.prepare('UPDATE users SET role = ? WHERE id = ?').run(change.role, id);
      details.role = { from: current.role, to: change.role };
    }
    const role = change.role ?? current.role;
    const lead = role === 'radiologist' ? (change.lead ?? current.lead) : false;
    checkLead(role, change.lead);
    if (lead !== current.lead) {
      db.prepare('UPDATE users SET lead = ? WHERE id = ?').run(lead ? 1 : 0, id);
      details.lead = { from: current.lead, to: lead };
    }
    if (change.disabled !== undefined && change.disabled !== current.disabled) {
      db.prepare('UPDATE users SET disabled_at = ? WHERE id = ?').run(change.disabled ? now : null, id);
      details.disabled = change.disabled;
    }
    if (hash !== undefined) {
      // a reset also lifts a lock-out
      db.prepare('UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?').run(hash, id);
      details.passwordReset = true;
    }
    if (Object.keys(details).length > 0) appendAudit(db, { actor, action: 'user.update', target: { type: 'user', id }, details: { username: current.username, ...details } }, now);
    return getUser(db, id);
  }).immediate();
}

/** The signed-in user's own password change: the current password is required. */
export async function changeOwnPassword(db: Database, id: number, currentPassword: string, newPassword: string, now: string = new Date().toISOString()): Promise<void> {
  const row = db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
  if (!row) throw new AppError('NOT_FOUND', `There is no user ${id}.`);
  if (!(await verifyPassword(currentPassword, row.password_hash))) throw new AppError('LOGIN_FAILED', 'The current password is wrong; the password was not changed.');
  checkPassword(newPassword, row.username);
  const hash = await hashPassword(newPassword);
  db.transaction(() => {
    db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, id);
    appendAudit(db, { actor: { userId: id, username: row.username }, action: 'user.password', target: { type: 'user', id }, details: {} }, now);
  }).immediate();
}

/**
 * Check a user name and password. A wrong password counts towards the lock-out; MAX_FAILED_LOGINS in a row lock the
 * account for LOCKOUT_MINUTES (an administrator's password reset lifts it). Unknown names take as long as known ones.
 */
export async function authenticate(db: Database, username: string, password: string, nowMs: number = Date.now()): Promise<User> {
  const now = new Date(nowMs).toISOString();
  const name = username.trim();
  const row = db.prepare('SELECT * FROM users WHERE username = ?').get(name) as UserRow | undefined;
  const generic = 'Wrong user name or password.';
  if (!row) {
    await verifyPassword(password, await dummyHash());
    appendAudit(db, { actor: { userId: null, username: name.slice(0, 64) || '(empty)' }, action: 'auth.login_failed', target: null, details: { reason: 'unknown user' } }, now);
    throw new AppError('LOGIN_FAILED', generic);
  }
  if (row.locked_until && Date.parse(row.locked_until) > nowMs) {
    appendAudit(db, { actor: { userId: row.id, username: row.username }, action: 'auth.login_failed', target: { type: 'user', id: row.id }, details: { reason: 'locked out' } }, now);
    const minutes = Math.max(1, Math.ceil((Date.parse(row.locked_until) - nowMs) / 60_000));
    throw new AppError('LOGIN_LOCKED', `Too many wrong passwords for ${row.username}: the account is locked for ${minutes} more minute${minutes === 1 ? '' : 's'}. An administrator can reset the password to unlock it now.`);
  }
  const good = await verifyPassword(password, row.password_hash);
  if (row.disabled_at) {
    appendAudit(db, { actor: { userId: row.id, username: row.username }, action: 'auth.login_failed', target: { type: 'user', id: row.id }, details: { reason: 'disabled' } }, now);
    throw new AppError('LOGIN_FAILED', good ? `The account ${row.username} is disabled; ask an administrator.` : generic);
  }
  if (!good) {
    const failed = row.failed_logins + 1;
    const lock = failed >= MAX_FAILED_LOGINS;
    db.transaction(() => {
      db.prepare('UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?').run(lock ? 0 : failed, lock ? new Date(nowMs + LOCKOUT_MINUTES * 60_000).toISOString() : row.locked_until, row.id);
      appendAudit(db, { actor: { userId: row.id, username: row.username }, action: 'auth.login_failed', target: { type: 'user', id: row.id }, details: { reason: 'wrong password', failedInARow: failed, lockedOut: lock } }, now);
    }).immediate();
    if (lock) throw new AppError('LOGIN_LOCKED', `Too many wrong passwords for ${row.username}: the account is locked for ${LOCKOUT_MINUTES} minutes. An administrator can reset the password to unlock it now.`);
    const left = MAX_FAILED_LOGINS - failed;
    throw new AppError('LOGIN_FAILED', `${generic} ${left} attempt${left === 1 ? '' : 's'} left before this account is locked for ${LOCKOUT_MINUTES} minutes.`);
  }
  db.transaction(() => {
    db.prepare('UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?').run(now, row.id);
    appendAudit(db, { actor: { userId: row.id, username: row.username }, action: 'auth.login', target: { type: 'user', id: row.id }, details: { role: row.role } }, now);
  }).immediate();
  return getUser(db, row.id);
}

/** Record a sign-in that needed no password check (the first administrator, signed in by creating the account). */
export function recordSignIn(db: Database, id: number, now: string = new Date().toISOString()): void {
  db.prepare('UPDATE users SET last_login_at = ? WHERE id = ?').run(now, id);
}

// ---- station settings for accounts ----

export interface AccountSettings {
  /** minutes without activity after which the station asks for the password again; 0: never */
  idleLockMinutes: number;
}

export const DEFAULT_SETTINGS: AccountSettings = { idleLockMinutes: 10 };

export function getSettings(db: Database): AccountSettings {
  const v = db.prepare("SELECT value FROM account_settings WHERE key = 'idle_lock_minutes'").pluck().get() as string | undefined;
  return { idleLockMinutes: v === undefined ? DEFAULT_SETTINGS.idleLockMinutes : Number(v) };
}

export function setSettings(db: Database, s: AccountSettings, actor: AuditActor, now: string = new Date().toISOString()): AccountSettings {
  if (!Number.isInteger(s.idleLockMinutes) || s.idleLockMinutes < 0 || s.idleLockMinutes > 480) throw new AppError('BAD_REQUEST', 'The idle lock is 0 (off) to 480 minutes.');
  return db.transaction(() => {
    const before = getSettings(db);
    db.prepare("INSERT INTO account_settings (key, value) VALUES ('idle_lock_minutes', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(s.idleLockMinutes));
    appendAudit(db, { actor, action: 'settings.update', target: { type: 'settings', id: 'accounts' }, details: { idleLockMinutes: { from: before.idleLockMinutes, to: s.idleLockMinutes } } }, now);
    return getSettings(db);
  }).immediate();
}
