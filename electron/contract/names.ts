// The contract's call and event names as plain data, for the preload: it must know which names exist but has
// no use for the schemas, and a sandboxed preload should stay small. contract.test.ts keeps this in step.
// One line per domain, so that each domain's names change on a line of their own.

const CORE_CALLS = ['app:info', 'import:file', 'cases:list', 'cases:get', 'images:pixels', 'analysis:status', 'analysis:get'];
const ANNOTATION_CALLS: string[] = [];
const REPORTING_CALLS: string[] = [];
const ACCOUNT_CALLS: string[] = [];
const EXPORT_CALLS: string[] = [];
const SYSTEM_CALLS: string[] = [];
const NETWORK_CALLS: string[] = [];

const CORE_EVENTS = ['cases:onChanged', 'analysis:onProgress'];
const ANNOTATION_EVENTS: string[] = [];
const REPORTING_EVENTS: string[] = [];
const ACCOUNT_EVENTS: string[] = [];
const EXPORT_EVENTS: string[] = [];
const SYSTEM_EVENTS: string[] = [];
const NETWORK_EVENTS: string[] = [];

export const CALL_NAMES: readonly string[] = [...CORE_CALLS, ...ANNOTATION_CALLS, ...REPORTING_CALLS, ...ACCOUNT_CALLS, ...EXPORT_CALLS, ...SYSTEM_CALLS, ...NETWORK_CALLS];
export const EVENT_NAMES: readonly string[] = [...CORE_EVENTS, ...ANNOTATION_EVENTS, ...REPORTING_EVENTS, ...ACCOUNT_EVENTS, ...EXPORT_EVENTS, ...SYSTEM_EVENTS, ...NETWORK_EVENTS];

const calls: ReadonlySet<string> = new Set(CALL_NAMES);
const eventSet: ReadonlySet<string> = new Set(EVENT_NAMES);

export function isKnownCall(name: unknown): boolean {
  return typeof name === 'string' && calls.has(name);
}

export function isKnownEvent(name: unknown): boolean {
  return typeof name === 'string' && eventSet.has(name);
}
