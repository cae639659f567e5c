// Handlers of the network domain of the contract (electron/contract/network.ts).
import type { networkCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';

export function networkHandlers(_ctx: HandlerContext): DomainHandlers<typeof networkCalls> {
  return {};
}
