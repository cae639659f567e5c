import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors';
import { hashPassword, verifyPassword, parseHash, passwordProblem } from './passwords';
import { authenticate, createUser, updateUser, listUsers, MAX_FAILED_LOGINS, LOCKOUT_MINUTES, getSettings, setSettings, getUser } from './users';
import { listAudit, verifyAudit } from './audit';
import { StationSession, type SessionState } from './session';
import { roleRefusal } from './policy';
import { storeWithCase } from './testSupport';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const sys = { userId: null, username: 'test' };

test('scrypt hashes: salted, parameters stored, verified in constant time, wrong passwords refused', async () => {
  const a = await hashPassword('correct horse battery');
  const b = await hashPassword('correct horse battery');
  assert.notEqual(a, b, 'a fresh salt per hash');
  const p = parseHash(a);
  assert.deepEqual(p.params, { N: 32768, r: 8, p: 1 });
  assert.equal(p.salt.length, 16);
  assert.equal(p.key.length, 32);
  assert.equal(await verifyPassword('correct horse battery', a), true);
  assert.equal(await verifyPassword('correct horse batterY', a), false);
  assert.equal(await verifyPassword('', a), false);
  // parameters travel with the hash: a hash made with other parameters still verifies
  const cheap = await hashPassword('another one!', { N: 1024, r: 8, p: 1 });
  assert.match(cheap, /^scrypt\$1024\$8\$1\$/);
  assert.equal(await verifyPassword('another one!', cheap), true);
  assert.throws(() => parseHash('md5$abc'), code('INTERNAL'));
  assert.ok(passwordProblem('short'));
  assert.ok(passwordProblem('aaaaaaaaaa'));
  assert.ok(passwordProblem('radiologist', 'Radiologist'));
  assert.equal(passwordProblem('a good passphrase'), null);
});

test('accounts: roles, unique names, no plaintext stored, the last administrator cannot be removed', async () => {
  const { store } = storeWithCase();
  const db = store.db;
  const admin = await createUser(db, { username: 'admin', displayName: 'Admin', role: 'administrator', password: 'admin-pass-1' }, sys, { firstAdministrator: true });
  await assert.rejects(createUser(db, { username: 'other', displayName: 'O', role: 'administrator', password: 'admin-pass-2' }, sys, { firstAdministrator: true }), code('FORBIDDEN'));
  const actor = { userId: admin.id, username: 'admin' };
  const rad = await createUser(db, { username: 'rad', displayName: 'Dr Rad', role: 'radiologist', password: 'rad-pass-123' }, actor);
  await assert.rejects(createUser(db, { username: 'RAD', displayName: 'x', role: 'technician', password: 'whatever-123' }, actor), /taken/);
  await assert.rejects(createUser(db, { username: 'bad name', displayName: 'x', role: 'technician', password: 'whatever-123' }, actor), code('BAD_REQUEST'));
  await assert.rejects(createUser(db, { username: 'tech', displayName: 'x', role: 'nurse' as never, password: 'whatever-123' }, actor), code('BAD_REQUEST'));
  const rows = db.prepare('SELECT password_hash FROM users').pluck().all() as string[];
  assert.ok(rows.every((h) => h.startsWith('scrypt$') && !h.includes('rad-pass-123')));
  await assert.rejects(updateUser(db, admin.id, { role: 'radiologist' }, actor), /only active administrator/);
  await assert.rejects(updateUser(db, admin.id, { disabled: true }, actor), /only active administrator|own account/);
  const disabled = await updateUser(db, rad.id, { disabled: true }, actor);
  assert.equal(disabled.disabled, true);
  await assert.rejects(authenticate(db, 'rad', 'rad-pass-123'), /disabled/);
  assert.deepEqual(listUsers(db).map((u) => u.username), ['admin', 'rad']);
  assert.deepEqual(
    listAudit(db).map((e) => e.action).reverse(),
    ['user.setup_admin', 'user.create', 'user.update', 'auth.login_failed'],
  );
  store.close();
});

test('login: wrong passwords count down to a lock-out, which a password reset lifts; unknown names fail alike', async () => {
  const { store } = storeWithCase();
  const db = store.db;
  const admin = await createUser(db, { username: 'admin', displayName: 'Admin', role: 'administrator', password: 'admin-pass-1' }, sys, { firstAdministrator: true });
  const rad = await createUser(db, { username: 'rad', displayName: 'Dr Rad', role: 'radiologist', password: 'rad-pass-123' }, { userId: admin.id, username: 'admin' });
  const t0 = Date.parse('2026-03-01T10:00:00Z');
  await assert.rejects(authenticate(db, 'nobody', 'x', t0), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_FAILED' && e.message.startsWith('Wrong user name or password.'));
  for (let i = 1; i < MAX_FAILED_LOGINS; i++) {
    await assert.rejects(authenticate(db, 'rad', 'wrong', t0), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_FAILED' && e.message.includes(`${MAX_FAILED_LOGINS - i} attempt`));
  }
  await assert.rejects(authenticate(db, 'rad', 'wrong', t0), code('LOGIN_LOCKED'));
  // locked: even the right password is refused until the lock-out ends
  await assert.rejects(authenticate(db, 'rad', 'rad-pass-123', t0 + 60_000), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_LOCKED' && /4 more minutes/.test(e.message));
  const ok = await authenticate(db, 'rad', 'rad-pass-123', t0 + LOCKOUT_MINUTES * 60_000 + 1000);
  assert.equal(ok.id, rad.id);
  // lock again, then an administrator's reset lifts it
  for (let i = 0; i < MAX_FAILED_LOGINS; i++) await authenticate(db, 'rad', 'wrong', t0 + 400_000).catch(() => {});
  await assert.rejects(authenticate(db, 'rad', 'rad-pass-123', t0 + 400_000), code('LOGIN_LOCKED'));
  await updateUser(db, rad.id, { password: 'new-rad-pass-1' }, { userId: admin.id, username: 'admin' });
  assert.equal((await authenticate(db, 'rad', 'new-rad-pass-1', t0 + 400_000)).username, 'rad');
  const actions = listAudit(db, { limit: 1000 }).map((e) => e.action);
  assert.ok(actions.filter((a) => a === 'auth.login_failed').length >= 2 * MAX_FAILED_LOGINS);
  assert.equal(actions.filter((a) => a === 'auth.login').length, 2);
  assert.equal(verifyAudit(db).ok, true);
  store.close();
});

test('the station session: setup only at first, sign-in required, roles enforced, idle lock asks for the password again', async () => {
  const { store } = storeWithCase();
  const db = store.db;
  let now = Date.parse('2026-03-01T10:00:00Z');
  const state: SessionState = { user: null, locked: false, lastActivityMs: 0 };
  const seen: boolean[] = [];
  const s = new StationSession(db, state, (snap) => seen.push(snap.locked), () => now);
  assert.equal(s.snapshot().setupRequired, true);
  assert.equal(s.authorize('cases:list')?.code, 'SETUP_REQUIRED');
  assert.equal(s.authorize('app:info'), null);
  assert.equal(s.authorize('accounts:setupAdmin'), null);
  await s.setupAdmin({ username: 'admin', displayName: 'Admin', password: 'admin-pass-1' });
  await assert.rejects(s.setupAdmin({ username: 'evil', displayName: 'E', password: 'evil-pass-1' }), code('FORBIDDEN'));
  assert.equal(s.snapshot().user?.role, 'administrator');
  // the first administrator is signed in by the setup: the accounts list says so at once
  assert.equal(getUser(db, 1).lastLoginAt, new Date(now).toISOString());
  assert.equal(s.authorize('accounts:createUser'), null);
  assert.equal(s.authorize('accounts:sign')?.code, 'FORBIDDEN');
  await createUser(db, { username: 'tech', displayName: 'Tech', role: 'technician', password: 'tech-pass-1' }, { userId: 1, username: 'admin' });
  s.logout();
  assert.equal(s.authorize('cases:list')?.code, 'AUTH_REQUIRED');
  assert.match(s.authorize('cases:get')!.message, /Sign in/);
  await s.login('tech', 'tech-pass-1');
  assert.equal(s.authorize('cases:list'), null);
  assert.equal(s.authorize('import:file'), null);
  assert.equal(s.authorize('accounts:createUser')?.code, 'FORBIDDEN');
  assert.match(s.authorize('accounts:sign')!.message, /Only a radiologist/);
  assert.equal(s.authorize('annotations:save')?.code, 'FORBIDDEN');

  // idle lock after the administrator's number of minutes; passive polling does not keep it awake
  assert.equal(getSettings(db).idleLockMinutes, 10);
  setSettings(db, { idleLockMinutes: 2 }, { userId: 1, username: 'admin' });
  now += 60_000;
  assert.equal(s.authorize('analysis:status'), null);
  now += 61_000;
  assert.equal(s.authorize('cases:list')?.code, 'SESSION_LOCKED');
  assert.equal(s.snapshot().locked, true);
  assert.equal(s.authorize('accounts:session'), null);
  await assert.rejects(s.unlock('wrong-pass'), code('LOGIN_FAILED'));
  await s.unlock('tech-pass-1');
  assert.equal(s.authorize('cases:list'), null);
  s.lock();
  assert.equal(s.authorize('cases:list')?.code, 'SESSION_LOCKED');
  // another user may sign in from the lock screen
  await s.login('admin', 'admin-pass-1');
  assert.equal(s.snapshot().user?.username, 'admin');
  assert.equal(s.snapshot().locked, false);
  assert.ok(seen.includes(true) && seen.includes(false));
  assert.ok(listAudit(db, { limit: 100 }).some((e) => e.action === 'auth.idle_lock'));
  store.close();
});

test('role refusals name who may do it', () => {
  assert.equal(roleRefusal('cases:list', 'technician'), null);
  assert.equal(roleRefusal('accounts:sign', 'radiologist'), null);
  assert.match(roleRefusal('accounts:listUsers', 'radiologist')!, /Only an administrator/);
  assert.match(roleRefusal('accounts:amend', 'administrator')!, /Only a radiologist/);
});
