// The contract's call and event names as plain data, for the preload: it must know which names exist but has
// no use for the schemas, and a sandboxed preload should stay small. contract.test.ts keeps this in step.
// One line per domain, so that each domain's names change on a line of their own.

const CORE_CALLS = ['app:info', 'import:file', 'cases:list', 'cases:get', 'images:pixels', 'analysis:status', 'analysis:get'];
const ANNOTATION_CALLS = ['annotations:get', 'annotations:save', 'annotations:versions'];
const REPORTING_CALLS = ['report:get', 'report:save', 'report:redraft', 'report:versions', 'vqa:ask'];
const ACCOUNT_CALLS: string[] = ['accounts:session', 'accounts:setupAdmin', 'accounts:login', 'accounts:logout', 'accounts:unlock', 'accounts:activity', 'accounts:lock', 'accounts:changePassword', 'accounts:listUsers', 'accounts:createUser', 'accounts:updateUser', 'accounts:getSettings', 'accounts:setSettings', 'accounts:signoff', 'accounts:sign', 'accounts:amend', 'accounts:signature', 'accounts:audit', 'accounts:verifyAudit'];
const EXPORT_CALLS = ['exports:build'];
const SYSTEM_CALLS: string[] = ['system:status', 'system:dataProtection', 'system:setRecoveryPassphrase', 'system:listBackups', 'system:backup', 'system:restore'];
const NETWORK_CALLS: string[] = ['network:getSettings', 'network:setSettings', 'network:listRemotes', 'network:saveRemote', 'network:removeRemote', 'network:echo', 'network:query', 'network:retrieve', 'network:sendResults', 'network:queue', 'network:retry', 'network:received', 'network:studyResults'];

const SITE_CALLS: string[] = ['site:status', 'site:results', 'site:addResult', 'site:withdrawResult', 'site:previewImport', 'site:importResults', 'site:calibration', 'site:history', 'site:setThreshold', 'site:rollback', 'site:heads', 'site:fitHead', 'site:activateHead', 'site:drift'];

const CORE_EVENTS = ['cases:onChanged', 'analysis:onProgress'];
const ANNOTATION_EVENTS = ['annotations:onSaved'];
const REPORTING_EVENTS = ['report:onChanged'];
const ACCOUNT_EVENTS: string[] = ['accounts:onSession'];
const EXPORT_EVENTS: string[] = [];
const SYSTEM_EVENTS: string[] = ['system:onRestartRequired'];
const NETWORK_EVENTS: string[] = ['network:onReceiver', 'network:onReceived', 'network:onQueue'];
const SITE_EVENTS: string[] = ['site:onChanged', 'site:onRescore'];

export const CALL_NAMES: readonly string[] = [...CORE_CALLS, ...ANNOTATION_CALLS, ...REPORTING_CALLS, ...ACCOUNT_CALLS, ...EXPORT_CALLS, ...SYSTEM_CALLS, ...NETWORK_CALLS, ...SITE_CALLS];
export const EVENT_NAMES: readonly string[] = [...CORE_EVENTS, ...ANNOTATION_EVENTS, ...REPORTING_EVENTS, ...ACCOUNT_EVENTS, ...EXPORT_EVENTS, ...SYSTEM_EVENTS, ...NETWORK_EVENTS, ...SITE_EVENTS];

const calls: ReadonlySet<string> = new Set(CALL_NAMES);
const eventSet: ReadonlySet<string> = new Set(EVENT_NAMES);

export function isKnownCall(name: unknown): boolean {
  return typeof name === 'string' && calls.has(name);
}

export function isKnownEvent(name: unknown): boolean {
  return typeof name === 'string' && eventSet.has(name);
}
