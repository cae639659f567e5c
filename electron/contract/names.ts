// The contract's call and event names as plain data, for the preload: it must know which names exist but has
// no use for the schemas, and a sandboxed preload should stay small. contract.test.ts keeps this in step.

export const CALL_NAMES = ['app:info', 'import:file', 'cases:list', 'cases:get', 'images:pixels', 'analysis:status', 'analysis:get'] as const;
export const EVENT_NAMES = ['cases:onChanged', 'analysis:onProgress'] as const;

const calls: ReadonlySet<string> = new Set(CALL_NAMES);
const eventSet: ReadonlySet<string> = new Set(EVENT_NAMES);

export function isKnownCall(name: unknown): boolean {
  return typeof name === 'string' && calls.has(name);
}

export function isKnownEvent(name: unknown): boolean {
  return typeof name === 'string' && eventSet.has(name);
}
