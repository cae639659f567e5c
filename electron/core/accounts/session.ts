// The station's one session (a reading station is one seat): who is signed in, whether the session is idle-locked,
// and the check every call passes before it runs (authorize). The Workstation owns one StationSession; the
// accounts handlers drive it.
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';
import { appendAudit } from './audit';
import { LOCKED_CALLS, OPEN_CALLS, PASSIVE_CALLS, roleRefusal } from './policy';
import { authenticate, countUsers, createUser, getSettings, getUser, recordSignIn, type Role, type User } from './users';

/** The session's state, shared with the handler context (context.ts Session). */
export interface SessionState {
  user: { userId: number | null; username: string; displayName: string; role: Role | null; lead?: boolean } | null;
  locked: boolean;
  lastActivityMs: number;
}

export interface SessionSnapshot {
  setupRequired: boolean;
  user: { id: number; username: string; displayName: string; role: Role; lead: boolean } | null;
  locked: boolean;
  idleLockMinutes: number;
}

export class StationSession {
  /** cached: 0 until the first account is created, then it never goes back (accounts are disabled, not deleted) */
  private usersExist: boolean;

  constructor(
    private readonly db: Database,
    readonly state: SessionState,
    private readonly changed: (s: SessionSnapshot) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {
    this.usersExist = countUsers(db) > 0;
  }

  setupRequired(): boolean {
    if (!this.usersExist) this.usersExist = countUsers(this.db) > 0;
    return !this.usersExist;
  }

  snapshot(): SessionSnapshot {
    this.applyIdleLock();
    const u = this.state.user;
    return {
      setupRequired: this.setupRequired(),
      user: u && u.userId !== null && u.role ? { id: u.userId, username: u.username, displayName: u.displayName, role: u.role, lead: u.lead === true } : null,
      locked: this.state.locked,
      idleLockMinutes: getSettings(this.db).idleLockMinutes,
    };
  }

  /** Lock the session when it has been idle longer than the administrator's setting. */
  private applyIdleLock(): void {
    if (!this.state.user || this.state.locked) return;
    const minutes = getSettings(this.db).idleLockMinutes;
    if (minutes > 0 && this.clock() - this.state.lastActivityMs > minutes * 60_000) {
      this.state.locked = true;
      appendAudit(this.db, { actor: { userId: this.state.user.userId, username: this.state.user.username }, action: 'auth.idle_lock', target: null, details: { idleMinutes: minutes } });
      this.changed(this.snapshot());
    }
  }

  /**
   * The check before every call: null when `call` may run now, else the error to answer with. Before the first
   * account exists only the setup call is answered; afterwards a signed-in, unlocked user with the right role.
   */
  authorize(call: string): { code: string; message: string } | null {
    if (OPEN_CALLS.has(call)) return null;
    if (this.setupRequired()) return { code: 'SETUP_REQUIRED', message: 'This station has no accounts yet: create the first administrator account to start.' };
    const u = this.state.user;
    if (!u || u.userId === null) return { code: 'AUTH_REQUIRED', message: 'Sign in first: this station requires a user account for every action.' };
    this.applyIdleLock();
    if (this.state.locked && !LOCKED_CALLS.has(call)) {
      return { code: 'SESSION_LOCKED', message: `The station locked after inactivity: ${u.displayName}, enter your password to continue (or sign in as another user).` };
    }
    const refusal = roleRefusal(call, u.role, u.lead === true);
    if (refusal) return { code: 'FORBIDDEN', message: refusal };
    if (!PASSIVE_CALLS.has(call)) this.state.lastActivityMs = this.clock();
    return null;
  }

  private signIn(user: User): SessionSnapshot {
    this.state.user = { userId: user.id, username: user.username, displayName: user.displayName, role: user.role, lead: user.lead };
    this.state.locked = false;
    this.state.lastActivityMs = this.clock();
    const s = this.snapshot();
    this.changed(s);
    return s;
  }

  async setupAdmin(input: { username: string; displayName: string; password: string }): Promise<SessionSnapshot> {
    if (!this.setupRequired()) throw new AppError('FORBIDDEN', 'This station already has accounts: sign in, and an administrator creates new ones.');
    const user = await createUser(this.db, { ...input, role: 'administrator' }, { userId: null, username: input.username }, { firstAdministrator: true });
    this.usersExist = true;
    recordSignIn(this.db, user.id, new Date(this.clock()).toISOString());
    appendAudit(this.db, { actor: { userId: user.id, username: user.username }, action: 'auth.login', target: { type: 'user', id: user.id }, details: { role: user.role, via: 'setup' } });
    return this.signIn(getUser(this.db, user.id));
  }

  async login(username: string, password: string): Promise<SessionSnapshot> {
    if (this.setupRequired()) throw new AppError('SETUP_REQUIRED', 'This station has no accounts yet: create the first administrator account.');
    const user = await authenticate(this.db, username, password, this.clock());
    const previous = this.state.user;
    if (previous && previous.userId !== null && previous.userId !== user.id) {
      appendAudit(this.db, { actor: { userId: previous.userId, username: previous.username }, action: 'auth.logout', target: { type: 'user', id: previous.userId }, details: { replacedBy: user.username } });
    }
    return this.signIn(user);
  }

  logout(): SessionSnapshot {
    const u = this.state.user;
    if (u && u.userId !== null) appendAudit(this.db, { actor: { userId: u.userId, username: u.username }, action: 'auth.logout', target: { type: 'user', id: u.userId }, details: {} });
    this.state.user = null;
    this.state.locked = false;
    const s = this.snapshot();
    this.changed(s);
    return s;
  }

  lock(): SessionSnapshot {
    const u = this.state.user;
    if (u && u.userId !== null && !this.state.locked) {
      this.state.locked = true;
      appendAudit(this.db, { actor: { userId: u.userId, username: u.username }, action: 'auth.lock', target: null, details: {} });
      this.changed(this.snapshot());
    }
    return this.snapshot();
  }

  /** The locked session's own user gives the password again; wrong passwords count towards the lock-out. */
  async unlock(password: string): Promise<SessionSnapshot> {
    const u = this.state.user;
    if (!u || u.userId === null) throw new AppError('AUTH_REQUIRED', 'Nobody is signed in: sign in instead.');
    if (!this.state.locked) return this.snapshot();
    const user = await authenticate(this.db, u.username, password, this.clock());
    if (user.id !== u.userId) throw new AppError('LOGIN_FAILED', 'Wrong user.');
    return this.signIn(user);
  }

  /** The signed-in user's account as stored now (role or name may have changed since sign-in). */
  currentUser(): User {
    const u = this.state.user;
    if (!u || u.userId === null) throw new AppError('AUTH_REQUIRED', 'Sign in first.');
    return getUser(this.db, u.userId);
  }

  /** Re-read the signed-in account after an administrator's change; a disabled account is signed out. */
  refresh(): void {
    const u = this.state.user;
    if (!u || u.userId === null) return;
    const now = getUser(this.db, u.userId);
    if (now.disabled) {
      this.state.user = null;
      this.state.locked = false;
    } else {
      this.state.user = { userId: now.id, username: now.username, displayName: now.displayName, role: now.role, lead: now.lead };
    }
    this.changed(this.snapshot());
  }
}
