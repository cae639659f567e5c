// The station's session as the page sees it: who is signed in, with what role, and whether the station is locked.
// AuthGate keeps it current (calls and the accounts:onSession event); components read it with useSession().
import { createContext, useContext } from 'react';
import type { SessionView } from '../../../electron/contract/index';

export interface SessionContextValue {
  session: SessionView;
  /** re-read the session from the service (after a refusal that says it changed) */
  refresh(): void;
  /** replace it with a session a call just returned */
  set(s: SessionView): void;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

export function useSession(): SessionContextValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSession outside AuthGate');
  return v;
}

/** The error codes that mean the session is not (or no longer) what the page thinks. */
export const SESSION_CODES = new Set(['AUTH_REQUIRED', 'SESSION_LOCKED', 'SETUP_REQUIRED']);
