// The accounts calls through the dispatcher every transport uses: enforcement of sign-in and roles, sign-off,
// the lock on annotation saves, amendments, and the audit log's check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workstation } from '../index';
import { tempDbPath } from '../../../testing/index';
import { signIn, TEST_PASSWORD } from '../../../testing/accounts';
import { imageRecord } from '../../accounts/testSupport';
import type { SignoffView, SignedRecordView, SessionView } from '../../../contract/index';

async function ok<T>(p: Promise<{ ok: boolean; value?: unknown; error?: unknown }>): Promise<T> {
  const r = await p;
  assert.equal(r.ok, true, JSON.stringify(r.error));
  return r.value as T;
}
async function err(p: Promise<{ ok: boolean; error?: { code: string; message: string } }>): Promise<{ code: string; message: string }> {
  const r = await p;
  assert.equal(r.ok, false, 'expected a refusal');
  return r.error!;
}

test('first start: only setup is answered; then every call needs a signed-in user with the right role', async () => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  try {
    const s0 = await ok<SessionView>(ws.dispatch('accounts:session', {}));
    assert.equal(s0.setupRequired, true);
    assert.equal((await ok<{ name: string }>(ws.dispatch('app:info', {}))).name, 'CXR Workstation');
    assert.equal((await err(ws.dispatch('cases:list', {}))).code, 'SETUP_REQUIRED');
    assert.equal((await err(ws.dispatch('accounts:login', { username: 'x', password: 'y' }))).code, 'SETUP_REQUIRED');
    assert.match((await err(ws.dispatch('accounts:setupAdmin', { username: 'admin', displayName: 'Admin', password: 'short' }))).message, /at least 8 characters/);
    await ok(ws.dispatch('accounts:setupAdmin', { username: 'admin', displayName: 'Admin', password: TEST_PASSWORD }));
    assert.equal((await err(ws.dispatch('accounts:setupAdmin', { username: 'admin2', displayName: 'A', password: TEST_PASSWORD }))).code, 'FORBIDDEN');
    assert.equal(ws.actor().username, 'admin');
    await ok(ws.dispatch('cases:list', {}));
    await ok(ws.dispatch('accounts:logout', {}));
    const refused = await err(ws.dispatch('cases:list', {}));
    assert.equal(refused.code, 'AUTH_REQUIRED');
    assert.match(refused.message, /Sign in/);
    await signIn(ws, 'technician', 'tech');
    await ok(ws.dispatch('cases:list', {}));
    assert.equal((await err(ws.dispatch('accounts:listUsers', {}))).code, 'FORBIDDEN');
    assert.equal((await err(ws.dispatch('accounts:verifyAudit', {}))).code, 'FORBIDDEN');
    assert.equal((await err(ws.dispatch('accounts:audit', {}))).code, 'FORBIDDEN');
  } finally {
    await ws.close();
  }
});

test('sign-off through the API: a technician cannot sign, a radiologist signs, saves are refused, an amendment keeps the signed version', async () => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  try {
    const { caseId, imageId } = ws.store.insertImage(imageRecord(3));
    await signIn(ws, 'technician', 'tech');
    const techSign = await err(ws.dispatch('accounts:sign', { caseId }));
    assert.equal(techSign.code, 'FORBIDDEN');
    assert.match(techSign.message, /Only a radiologist/);
    await signIn(ws, 'radiologist', 'ada');
    const unsigned = await ok<SignoffView>(ws.dispatch('accounts:signoff', { caseId }));
    assert.equal(unsigned.signed, false);
    const changed: number[][] = [];
    const off = ws.on('cases:onChanged', (e) => changed.push(e.caseIds));
    const signed = await ok<SignoffView>(ws.dispatch('accounts:sign', { caseId }));
    off();
    assert.deepEqual(changed, [[caseId]]);
    assert.equal(signed.status, 'signed');
    assert.equal(signed.signatures[0].signerName, 'Dr Ada');
    const cases = await ok<{ rows: { caseId: number; status: string }[] }>(ws.dispatch('cases:list', {}));
    assert.equal(cases.rows.find((r) => r.caseId === caseId)?.status, 'signed');
    if ('annotations:save' in ws.handlers) {
      const refused = await err(ws.dispatch('annotations:save', { imageId, baseVersion: 0, findings: [], masks: [] }));
      assert.equal(refused.code, 'CASE_SIGNED');
      assert.match(refused.message, /signed by Dr Ada/);
    }
    assert.equal((await err(ws.dispatch('accounts:amend', { caseId, reason: '' }))).code, 'BAD_REQUEST');
    const amending = await ok<SignoffView>(ws.dispatch('accounts:amend', { caseId, reason: 'lesion missed in the left upper zone' }));
    assert.equal(amending.locked, false);
    const resigned = await ok<SignoffView>(ws.dispatch('accounts:sign', { caseId }));
    assert.equal(resigned.signatures.length, 2);
    const first = await ok<SignedRecordView>(ws.dispatch('accounts:signature', { signatureId: resigned.signatures[1].id }));
    assert.equal(first.intact, true);
    assert.equal(first.content.amendment, null);
    const history = await ok<{ entries: { action: string }[] }>(ws.dispatch('accounts:audit', { targetType: 'case', targetId: String(caseId) }));
    assert.deepEqual(history.entries.map((e) => e.action), ['case.sign_amendment', 'case.amend', 'case.sign']);
    await signIn(ws, 'administrator', 'admin');
    const verdict = await ok<{ ok: boolean; entries: number }>(ws.dispatch('accounts:verifyAudit', {}));
    assert.equal(verdict.ok, true);
    assert.ok(verdict.entries > 8);
  } finally {
    await ws.close();
  }
});

test('an administrator manages accounts and the idle lock; a disabled account cannot sign in', async () => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  try {
    await signIn(ws, 'administrator', 'admin');
    const users = await ok<{ users: { id: number; username: string }[] }>(ws.dispatch('accounts:listUsers', {}));
    assert.deepEqual(users.users.map((u) => u.username), ['admin']);
    const rad = await ok<{ id: number }>(ws.dispatch('accounts:createUser', { username: 'rad', displayName: 'Dr Rad', role: 'radiologist', password: TEST_PASSWORD }));
    await ok(ws.dispatch('accounts:updateUser', { userId: rad.id, disabled: true }));
    assert.equal((await err(ws.dispatch('accounts:login', { username: 'rad', password: TEST_PASSWORD }))).code, 'LOGIN_FAILED');
    await signIn(ws, 'administrator', 'admin');
    assert.equal((await ok<{ idleLockMinutes: number }>(ws.dispatch('accounts:setSettings', { idleLockMinutes: 3 }))).idleLockMinutes, 3);
    // activity the page reports (input without calls) keeps the session open
    ws.session.lastActivityMs -= 2 * 60_000;
    await ok(ws.dispatch('accounts:activity', {}));
    ws.session.lastActivityMs -= 2 * 60_000;
    await ok(ws.dispatch('cases:list', {}));
    // idle for longer than the setting: the next call asks for the password again
    ws.session.lastActivityMs -= 4 * 60_000;
    assert.equal((await err(ws.dispatch('cases:list', {}))).code, 'SESSION_LOCKED');
    assert.equal((await ok<SessionView>(ws.dispatch('accounts:session', {}))).locked, true);
    await ok(ws.dispatch('accounts:unlock', { password: TEST_PASSWORD }));
    await ok(ws.dispatch('cases:list', {}));
  } finally {
    await ws.close();
  }
});

test('the audit log is read by role: cases and images for anyone signed in, one’s own account, everything else for administrators', async () => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http', network: false });
  try {
    await signIn(ws, 'radiologist', 'rad');
    await signIn(ws, 'technician', 'tech');
    const users = (await signIn(ws, 'administrator', 'admin'), await ok<{ users: { id: number; username: string }[] }>(ws.dispatch('accounts:listUsers', {}))).users;
    const id = (name: string) => String(users.find((u) => u.username === name)!.id);
    await ok(ws.dispatch('accounts:setSettings', { idleLockMinutes: 15 }));
    const read = (q: { targetType?: string; targetId?: string }) => ws.dispatch('accounts:audit', q);

    // the administrator reads everything
    for (const q of [{}, { targetType: 'user', targetId: id('rad') }, { targetType: 'settings', targetId: 'accounts' }]) await ok(read(q));

    await signIn(ws, 'technician', 'tech');
    const refused = await err(read({ targetType: 'user', targetId: id('rad') }));
    assert.equal(refused.code, 'FORBIDDEN', 'a technician reading a radiologist’s sign-ins');
    assert.match(refused.message, /another account/);
    assert.equal((await err(read({ targetType: 'user', targetId: id('admin') }))).code, 'FORBIDDEN');
    assert.equal((await err(read({ targetType: 'settings', targetId: 'accounts' }))).code, 'FORBIDDEN');
    assert.equal((await err(read({ targetType: 'user' }))).code, 'FORBIDDEN');
    assert.equal((await err(read({}))).code, 'FORBIDDEN');
    const own = await ok<{ entries: { action: string }[] }>(read({ targetType: 'user', targetId: id('tech') }));
    assert.ok(own.entries.some((e) => e.action.startsWith('auth.login') || e.action.startsWith('user.')), JSON.stringify(own.entries.map((e) => e.action)));
    await ok(read({ targetType: 'case', targetId: '1' }));
    await ok(read({ targetType: 'image', targetId: '1' }));

    await signIn(ws, 'radiologist', 'rad');
    assert.equal((await err(read({ targetType: 'user', targetId: id('tech') }))).code, 'FORBIDDEN');
    await ok(read({ targetType: 'user', targetId: id('rad') }));
  } finally {
    await ws.close();
  }
});
