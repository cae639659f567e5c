// Signing a Workstation in for tests of calls that need a user: the first administrator is created when the station
// has none, then an account of the wanted role, then that account signs in, all through the same calls the UI makes.
import type { Workstation } from '../core/api/index';

export const TEST_PASSWORD = 'test-password-1';

type Role = 'radiologist' | 'technician' | 'administrator';

async function must(reply: Promise<{ ok: boolean; error?: { code: string; message: string } }>, what: string): Promise<void> {
  const r = await reply;
  if (!r.ok) throw new Error(`${what}: ${r.error!.code}: ${r.error!.message}`);
}

/** Sign `ws` in as `username` with `role`, creating the accounts needed (named `displayName`). Returns the user name. */
export async function signIn(ws: Workstation, role: Role = 'radiologist', username: string = role, displayName?: string): Promise<string> {
  const session = await ws.dispatch('accounts:session', {});
  if (!session.ok) throw new Error(session.error.message);
  const s = session.value as { setupRequired: boolean };
  if (s.setupRequired) await must(ws.dispatch('accounts:setupAdmin', { username: 'admin', displayName: 'Station Administrator', password: TEST_PASSWORD }), 'setup');
  else await must(ws.dispatch('accounts:login', { username: 'admin', password: TEST_PASSWORD }), 'admin login');
  if (username !== 'admin') {
    const exists = await ws.dispatch('accounts:listUsers', {});
    if (!exists.ok) throw new Error(exists.error.message);
    const users = (exists.value as { users: { username: string }[] }).users;
    if (!users.some((u) => u.username === username)) {
      const display = displayName ?? (role === 'radiologist' ? `Dr ${username[0].toUpperCase()}${username.slice(1)}` : `${username[0].toUpperCase()}${username.slice(1)}`);
      await must(ws.dispatch('accounts:createUser', { username, displayName: display, role, password: TEST_PASSWORD }), 'create user');
    }
    await must(ws.dispatch('accounts:login', { username, password: TEST_PASSWORD }), 'login');
  }
  return username;
}
