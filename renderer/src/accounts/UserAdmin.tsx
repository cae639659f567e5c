// The administrator's accounts dialog: the station's users (create, change role, disable or enable, reset a
// password, which also lifts a lock-out) and the idle lock setting.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { call, errorMessage } from '../api';
import { ROLE_NAMES, type Role, type UserView } from '../../../electron/contract/index';
import { useSession } from './session';

const ROLES: Role[] = ['radiologist', 'technician', 'administrator'];

export function UserAdmin(props: { onClose: () => void }) {
  const { session, refresh } = useSession();
  const [users, setUsers] = useState<UserView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [form, setForm] = useState({ username: '', displayName: '', role: 'radiologist' as Role, password: '', lead: false });
  const [idle, setIdle] = useState(String(session.idleLockMinutes));

  const load = useCallback(() => {
    call('accounts:listUsers', {})
      .then((r) => setUsers(r.users))
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);

  const run = async (what: string, action: () => Promise<unknown>) => {
    setError(null);
    setNote(null);
    try {
      await action();
      setNote(what);
      load();
      refresh();
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    }
  };

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const request = { ...form, lead: form.role === 'radiologist' && form.lead };
    if (await run(`Account ${form.username} created.`, () => call('accounts:createUser', request))) setForm({ username: '', displayName: '', role: form.role, password: '', lead: false });
  };
  const resetPassword = (u: UserView) => {
    const pw = window.prompt(`New password for ${u.username} (at least 8 characters):`);
    if (pw) void run(`New password set for ${u.username}.`, () => call('accounts:updateUser', { userId: u.id, password: pw }));
  };

  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && props.onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="users-title" data-testid="user-admin">
        <div className="modal-head">
          <h2 id="users-title">Accounts</h2>
          <span className="toolbar-spacer" />
          <button type="button" className="btn btn-small" onClick={props.onClose} data-testid="user-admin-close">
            Close
          </button>
        </div>
        {error && (
          <p className="signoff-error" role="alert" data-testid="user-admin-error">
            {error}
          </p>
        )}
        {note && <p className="signoff-note">{note}</p>}
        <table>
          <thead>
            <tr>
              <th>User name</th>
              <th>Full name</th>
              <th>Role</th>
              <th title="Lead radiologists calibrate the site (threshold, site head), with the administrators">Lead</th>
              <th>State</th>
              <th>Last sign-in</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users ?? []).map((u) => (
              <tr key={u.id} data-testid="user-row">
                <td>{u.username}</td>
                <td>{u.displayName}</td>
                <td>
                  <select className="input" value={u.role} aria-label={`Role of ${u.username}`} onChange={(e) => void run(`${u.username} is now ${ROLE_NAMES[e.target.value as Role]}.`, () => call('accounts:updateUser', { userId: u.id, role: e.target.value as Role }))}>
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {ROLE_NAMES[r]}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  {u.role === 'radiologist' ? (
                    <input
                      type="checkbox"
                      checked={u.lead}
                      aria-label={`${u.username} is a lead radiologist`}
                      data-testid="user-lead"
                      onChange={(e) => void run(`${u.username} is ${e.target.checked ? 'now' : 'no longer'} a lead radiologist.`, () => call('accounts:updateUser', { userId: u.id, lead: e.target.checked }))}
                    />
                  ) : (
                    '—'
                  )}
                </td>
                <td>{u.disabled ? 'disabled' : u.lockedUntil && Date.parse(u.lockedUntil) > Date.now() ? `locked until ${new Date(u.lockedUntil).toLocaleTimeString()}` : 'active'}</td>
                <td data-testid="user-last-login">{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : '—'}</td>
                <td>
                  <button type="button" className="btn btn-small" onClick={() => void run(`${u.username} ${u.disabled ? 'enabled' : 'disabled'}.`, () => call('accounts:updateUser', { userId: u.id, disabled: !u.disabled }))}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>{' '}
                  <button type="button" className="btn btn-small" onClick={() => resetPassword(u)}>
                    Reset password
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h3>New account</h3>
        <form className="modal-form" onSubmit={create} data-testid="create-user-form">
          <label>
            User name
            <input className="input" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} data-testid="new-username" required />
          </label>
          <label>
            Full name (as signed)
            <input className="input" value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} data-testid="new-name" required />
          </label>
          <label>
            Role
            <select className="input" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })} data-testid="new-role">
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_NAMES[r]}
                </option>
              ))}
            </select>
          </label>
          {form.role === 'radiologist' && (
            <label>
              Lead radiologist
              <input type="checkbox" checked={form.lead} onChange={(e) => setForm({ ...form, lead: e.target.checked })} data-testid="new-lead" />
            </label>
          )}
          <label>
            Password
            <input className="input" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} data-testid="new-password" required />
          </label>
          <button type="submit" className="btn btn-primary" data-testid="create-user">
            Create
          </button>
        </form>
        <h3>Idle lock</h3>
        <form
          className="modal-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run('Idle lock saved.', () => call('accounts:setSettings', { idleLockMinutes: Number(idle) }));
          }}
        >
          <label>
            Minutes without activity before the station asks for the password again (0: never)
            <input className="input" type="number" min={0} max={480} step={1} value={idle} onChange={(e) => setIdle(e.target.value)} data-testid="idle-minutes" />
          </label>
          <button type="submit" className="btn" data-testid="idle-save">
            Save
          </button>
        </form>
      </div>
    </div>
  );
}
