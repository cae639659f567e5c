// What stands between the station and its data: the first administrator's setup on a new station, the sign-in
// screen, and the lock screen after inactivity (the page locks itself after the administrator's number of idle
// minutes; the service enforces the same limit on every call). The application is mounted only for a signed-in
// user, and stays mounted under the lock screen so that nothing on screen is lost while the station is locked.
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { call, errorCode, errorMessage, onEvent } from '../api';
import type { SessionView } from '../../../electron/contract/index';
import { SessionContext, SESSION_CODES } from './session';
import { StationSetup } from '../settings/StationSetup';
import './accounts.css';

const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'pointermove'] as const;

export function AuthGate(props: { children: ReactNode }) {
  const [session, setSession] = useState<SessionView | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(() => {
    call('accounts:session', {})
      .then((s) => {
        setSession(s);
        setError(null);
      })
      .catch((e) => setError(`The workstation service did not answer: ${errorMessage(e)}`));
  }, []);

  useEffect(() => {
    refresh();
    return onEvent('accounts:onSession', (s) => setSession(s));
  }, [refresh]);

  // Idle lock: the page's own input counts as activity; the service counts calls (and locks on its side too).
  const lastInput = useRef(Date.now());
  const lastReported = useRef(Date.now());
  const signedIn = !!session?.user && !session.locked;
  const idleMinutes = session?.idleLockMinutes ?? 0;
  useEffect(() => {
    if (!signedIn || idleMinutes <= 0) return;
    lastInput.current = Date.now();
    const mark = () => (lastInput.current = Date.now());
    for (const ev of ACTIVITY_EVENTS) window.addEventListener(ev, mark, { passive: true, capture: true });
    const timer = setInterval(() => {
      // Input that makes no calls (window/level, zoom, reading) still counts: tell the service once a minute.
      if (lastInput.current > lastReported.current && Date.now() - lastReported.current >= 60_000) {
        lastReported.current = Date.now();
        call('accounts:activity', {}).catch(() => refresh());
      }
      if (Date.now() - lastInput.current >= idleMinutes * 60_000) {
        call('accounts:lock', {})
          .then(setSession)
          .catch(() => refresh());
      }
    }, 5_000);
    return () => {
      clearInterval(timer);
      for (const ev of ACTIVITY_EVENTS) window.removeEventListener(ev, mark, { capture: true });
    };
  }, [signedIn, idleMinutes, refresh]);

  const value = useMemo(() => (session ? { session, refresh, set: setSession } : null), [session, refresh]);

  if (!session) {
    return (
      <div className="auth-screen">
        <div className="auth-box" role="status">
          {error ? (
            <>
              <p className="auth-error">{error}</p>
              <button type="button" className="btn" onClick={refresh}>
                Retry
              </button>
            </>
          ) : (
            'Starting…'
          )}
        </div>
      </div>
    );
  }
  if (session.setupRequired) return <SetupScreen onDone={setSession} />;
  if (!session.user) return <LoginScreen onDone={setSession} />;
  return (
    <SessionContext.Provider value={value}>
      {/* the user's own work stays mounted (and hidden from assistive tech) under the lock screen */}
      <div className="auth-app" aria-hidden={session.locked} key={session.user.id}>
        {props.children}
      </div>
      {session.locked && <LockScreen session={session} onDone={setSession} />}
    </SessionContext.Provider>
  );
}

function useSubmit(onDone: (s: SessionView) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (action: () => Promise<SessionView>) => {
      setBusy(true);
      setError(null);
      try {
        onDone(await action());
      } catch (e) {
        setError(SESSION_CODES.has(errorCode(e)) || errorCode(e) === 'LOGIN_FAILED' || errorCode(e) === 'LOGIN_LOCKED' || errorCode(e) === 'BAD_REQUEST' ? errorMessage(e) : `Could not sign in: ${errorMessage(e)}`);
      } finally {
        setBusy(false);
      }
    },
    [onDone],
  );
  return { busy, error, setError, run };
}

function SetupScreen(props: { onDone: (s: SessionView) => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const { busy, error, setError, run } = useSubmit(props.onDone);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password !== again) return setError('The two passwords differ.');
    void run(() => call('accounts:setupAdmin', { username, displayName, password }));
  };
  return (
    <div className="auth-screen">
      {/* first run: the station's summary (data folder, model pack verified, provider) beside the form */}
      <div className="setup-screen-cols">
      <StationSetup firstRun />
      <form className="auth-box" onSubmit={submit} data-testid="setup-form" aria-labelledby="setup-title">
        <h1 id="setup-title">Set up this workstation</h1>
        <p className="auth-hint">No accounts exist yet. Create the administrator account: the administrator then creates the radiologists’ and technicians’ accounts.</p>
        <label className="auth-field">
          <span>User name</span>
          <input className="input" autoFocus autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} data-testid="setup-username" required />
        </label>
        <label className="auth-field">
          <span>Full name</span>
          <input className="input" autoComplete="name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} data-testid="setup-name" required />
        </label>
        <label className="auth-field">
          <span>Password (at least 8 characters)</span>
          <input className="input" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="setup-password" required />
        </label>
        <label className="auth-field">
          <span>Password again</span>
          <input className="input" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} data-testid="setup-password2" required />
        </label>
        {error && (
          <p className="auth-error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="setup-submit">
          Create administrator and sign in
        </button>
      </form>
      </div>
    </div>
  );
}

function LoginScreen(props: { onDone: (s: SessionView) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useSubmit(props.onDone);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(() => call('accounts:login', { username, password }));
    setPassword('');
  };
  return (
    <div className="auth-screen">
      <form className="auth-box" onSubmit={submit} data-testid="login-form" aria-labelledby="login-title">
        <h1 id="login-title">CXR Workstation</h1>
        <p className="auth-hint">Sign in with your account.</p>
        <label className="auth-field">
          <span>User name</span>
          <input className="input" autoFocus autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} data-testid="login-username" required />
        </label>
        <label className="auth-field">
          <span>Password</span>
          <input className="input" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="login-password" required />
        </label>
        {error && (
          <p className="auth-error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="login-submit">
          Sign in
        </button>
      </form>
    </div>
  );
}

function LockScreen(props: { session: SessionView; onDone: (s: SessionView) => void }) {
  const [password, setPassword] = useState('');
  const { busy, error, run } = useSubmit(props.onDone);
  const user = props.session.user!;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(() => call('accounts:unlock', { password }));
    setPassword('');
  };
  return (
    <div className="auth-screen auth-lock" role="dialog" aria-modal="true" aria-labelledby="lock-title">
      <form className="auth-box" onSubmit={submit} data-testid="lock-form">
        <h1 id="lock-title">Station locked</h1>
        <p className="auth-hint">
          Locked after {props.session.idleLockMinutes} minute{props.session.idleLockMinutes === 1 ? '' : 's'} without activity. <strong>{user.displayName}</strong>, enter your password to continue.
        </p>
        <label className="auth-field">
          <span>Password</span>
          <input className="input" type="password" autoFocus autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="unlock-password" required />
        </label>
        {error && (
          <p className="auth-error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        <div className="auth-actions">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="unlock-submit">
            Unlock
          </button>
          <button type="button" className="btn" disabled={busy} data-testid="lock-switch-user" onClick={() => void run(() => call('accounts:logout', {}))}>
            Sign in as someone else
          </button>
        </div>
      </form>
    </div>
  );
}
