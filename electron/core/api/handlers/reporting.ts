// Handlers of the reporting domain of the contract (electron/contract/reporting.ts).
import type { reportingCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';

export function reportingHandlers(_ctx: HandlerContext): DomainHandlers<typeof reportingCalls> {
  return {};
}
