// Handlers of the network domain of the contract (electron/contract/network.ts), over the Workstation's
// NetworkService (the receiver and the outgoing queue live as long as the Workstation).
import type { networkCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';
import { publicQueueItem, publicRemote, type NetworkService } from '../../network/index';

export function networkHandlers(ctx: HandlerContext, network: NetworkService): DomainHandlers<typeof networkCalls> {
  const view = () => ({ settings: network.settings(), receiver: network.receiverStatus() });
  return {
    'network:getSettings': () => view(),
    'network:setSettings': async (s) => {
      await network.setSettings(s);
      return view();
    },
    'network:listRemotes': () => network.repo.listRemotes().map(publicRemote),
    'network:saveRemote': (r) => publicRemote(network.repo.saveRemote(r)),
    'network:removeRemote': ({ id }) => ({ removed: network.repo.removeRemote(id) }),
    'network:echo': ({ remoteId }) => network.echo(remoteId),
    'network:query': async (q) => ({ studies: await network.query(q) }),
    'network:retrieve': ({ remoteId, studyInstanceUid }) => network.retrieve(remoteId, studyInstanceUid),
    'network:sendResults': async ({ caseId, remoteId }) => {
      const a = ctx.actor();
      const items = await network.enqueueSignedResults(caseId, { userId: a.userId, username: a.username }, remoteId);
      return { queued: items.map(publicQueueItem) };
    },
    'network:queue': (q) => network.queueView(q),
    'network:retry': ({ id }) => publicQueueItem(network.retry(id)),
    'network:received': ({ limit }) => network.repo.listReceived(limit),
    'network:studyResults': ({ caseId }) => network.studyResults(caseId),
  };
}
