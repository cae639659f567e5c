// Handlers of the accounts domain of the contract (electron/contract/accounts.ts).
import type { accountCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';

export function accountHandlers(_ctx: HandlerContext): DomainHandlers<typeof accountCalls> {
  return {};
}
