// The header's who-is-signed-in: name and role, lock now, sign out, and (for administrators) the accounts dialog.
import { useState } from 'react';
import { call, errorMessage } from '../api';
import { ROLE_NAMES } from '../../../electron/contract/index';
import { useSession } from './session';
import { UserAdmin } from './UserAdmin';

export function UserMenu() {
  const { session, set, refresh } = useSession();
  const [adminOpen, setAdminOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const user = session.user;
  if (!user) return null;
  const act = (name: 'accounts:logout' | 'accounts:lock') =>
    call(name, {})
      .then(set)
      .catch((e) => {
        setError(errorMessage(e));
        refresh();
      });
  return (
    <div className="user-menu" data-testid="user-menu">
      <span className="user-name" data-testid="session-user" title={`Signed in as ${user.username}`}>
        {user.displayName}
      </span>
      <span className="user-role" data-testid="session-role">
        {ROLE_NAMES[user.role]}
        {user.lead ? ' (lead)' : ''}
      </span>
      {user.role === 'administrator' && (
        <button type="button" className="btn btn-small" data-testid="manage-users" onClick={() => setAdminOpen(true)}>
          Accounts
        </button>
      )}
      <button type="button" className="btn btn-small" data-testid="lock-button" onClick={() => void act('accounts:lock')} title="Lock the station; your password opens it again">
        Lock
      </button>
      <button type="button" className="btn btn-small" data-testid="logout-button" onClick={() => void act('accounts:logout')}>
        Sign out
      </button>
      {error && (
        <span className="signoff-error" role="alert">
          {error}
        </span>
      )}
      {adminOpen && <UserAdmin onClose={() => setAdminOpen(false)} />}
    </div>
  );
}
