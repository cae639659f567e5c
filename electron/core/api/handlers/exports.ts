// Handlers of the exports domain of the contract (electron/contract/exports.ts). The export is built in core and
// returned as bytes; the renderer saves it (a download in the browser, the same in Electron's window).
import type { exportCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';
import { exportCase } from '../../exports/index';

export function exportHandlers(ctx: HandlerContext): DomainHandlers<typeof exportCalls> {
  return {
    'exports:build': async ({ caseId, format, imageId }) => {
      const actor = ctx.actor();
      const built = await exportCase(ctx.store, caseId, format, { userId: actor.userId, username: actor.username }, { imageId });
      return { format: built.format, fileName: built.fileName, mediaType: built.mediaType, bytes: built.bytes, notes: built.notes };
    },
  };
}
