// What every domain's handlers get from the running workstation: the store, the event channel, the analysis queue,
// and who is at the station. Handlers are built per domain (./handlers/<domain>.ts) from this context, and the
// Workstation joins them into the one table the dispatcher uses.
import type { z } from 'zod';
import type { CallName, CallResponse, Contract, EventName, EventPayload } from '../../contract/index';
import type { CaseStore } from '../store/index';
import type { SiteService } from '../site/index';

export type Handler<N extends CallName> = (request: z.output<Contract[N]['request']>) => Promise<CallResponse<N>> | CallResponse<N>;
export type Handlers = { [N in CallName]: Handler<N> };
/** The handlers of one domain's calls (`calls` is that domain's part of the contract). */
export type DomainHandlers<Calls> = { [N in keyof Calls & CallName]: Handler<N> };

/** The person at the station, as the audit log and the annotation versions name them. */
export interface Actor {
  /** the account's id, or null before accounts exist on this station */
  userId: number | null;
  username: string;
  displayName: string;
  role: 'radiologist' | 'technician' | 'administrator' | null;
  /** a radiologist marked lead radiologist */
  lead?: boolean;
}

/** The station's session: one person signed in at a time (a reading station is one seat). */
export interface Session {
  user: Actor | null;
  /** locked after inactivity (or by the user): only the same user's password, or another sign-in, opens it */
  locked: boolean;
  /** when the signed-in user last did something (ms since the epoch), for the idle lock */
  lastActivityMs: number;
}

export interface HandlerContext {
  readonly store: CaseStore;
  readonly transport: 'ipc' | 'http';
  readonly session: Session;
  /** the signed-in person, or the station's local user name where accounts are not in use yet */
  actor(): Actor;
  emit<E extends EventName>(name: E, payload: EventPayload<E>): void;
  /** look for images awaiting analysis now */
  kickAnalysis(): void;
  /** the model pack in use, the threshold in force, the re-scoring job */
  readonly site: SiteService;
}
