// Handlers of the system domain of the contract (electron/contract/system.ts).
import type { systemCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';

export function systemHandlers(_ctx: HandlerContext): DomainHandlers<typeof systemCalls> {
  return {};
}
