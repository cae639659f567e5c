// Handlers of the annotations domain of the contract (electron/contract/annotations.ts).
import type { annotationCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';

export function annotationHandlers(_ctx: HandlerContext): DomainHandlers<typeof annotationCalls> {
  return {};
}
