// The one API contract between the renderer and the main side (Electron IPC or the local web server).
// Every call has a name, a request schema and a response schema; the receiving side validates both ways.
// This module imports nothing of ours but its own domain modules, so that every layer may depend on it.
// Each domain (annotations, reporting, accounts, exports, system, network) keeps its calls and events in a module of
// its own; the names are `domain:verb`, and contract.test.ts checks that no two domains claim the same name.
import { z } from 'zod';
import { coreCalls, coreEvents, type ErrorInfo } from './schemas';
import { annotationCalls, annotationEvents } from './annotations';
import { reportingCalls, reportingEvents } from './reporting';
import { accountCalls, accountEvents } from './accounts';
import { exportCalls, exportEvents } from './exports';
import { systemCalls, systemEvents } from './system';
import { networkCalls, networkEvents } from './network';
import { siteCalls, siteEvents } from './site';

export * from './schemas';
export * from './annotations';
export * from './reporting';
export * from './accounts';
export * from './exports';
export * from './system';
export * from './network';
export * from './presentation';
export * from './site';

export const contract = {
  ...coreCalls,
  ...annotationCalls,
  ...reportingCalls,
  ...accountCalls,
  ...exportCalls,
  ...systemCalls,
  ...networkCalls,
  ...siteCalls,
} as const;

/** Every domain's call and event names, to check that none is claimed twice. */
export const domains = {
  core: { calls: Object.keys(coreCalls), events: Object.keys(coreEvents) },
  annotations: { calls: Object.keys(annotationCalls), events: Object.keys(annotationEvents) },
  reporting: { calls: Object.keys(reportingCalls), events: Object.keys(reportingEvents) },
  accounts: { calls: Object.keys(accountCalls), events: Object.keys(accountEvents) },
  exports: { calls: Object.keys(exportCalls), events: Object.keys(exportEvents) },
  system: { calls: Object.keys(systemCalls), events: Object.keys(systemEvents) },
  network: { calls: Object.keys(networkCalls), events: Object.keys(networkEvents) },
  site: { calls: Object.keys(siteCalls), events: Object.keys(siteEvents) },
};


export type Contract = typeof contract;
export type CallName = keyof Contract;
export type CallRequest<N extends CallName> = z.input<Contract[N]['request']>;
export type CallResponse<N extends CallName> = z.output<Contract[N]['response']>;
export type CallReply<N extends CallName> = { ok: true; value: CallResponse<N> } | { ok: false; error: ErrorInfo };

/** Events the main side pushes to the renderer. */
export const events = {
  ...coreEvents,
  ...annotationEvents,
  ...reportingEvents,
  ...accountEvents,
  ...exportEvents,
  ...systemEvents,
  ...networkEvents,
  ...siteEvents,
} as const;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.infer<Events[E]>;

export const callNames = Object.keys(contract) as CallName[];
export const eventNames = Object.keys(events) as EventName[];

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(contract, name);
}
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

/** The typed surface the renderer sees, whatever the transport. */
export interface Api {
  invoke<N extends CallName>(name: N, request: CallRequest<N>): Promise<CallReply<N>>;
  on<E extends EventName>(name: E, callback: (payload: EventPayload<E>) => void): () => void;
}
