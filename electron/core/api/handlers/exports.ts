// Handlers of the exports domain of the contract (electron/contract/exports.ts).
import type { exportCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';

export function exportHandlers(_ctx: HandlerContext): DomainHandlers<typeof exportCalls> {
  return {};
}
