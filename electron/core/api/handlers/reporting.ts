// Handlers of the reporting domain of the contract (electron/contract/reporting.ts): the report of a case and
// questions about an image. The author of a save is whoever is at the station (ctx.actor()), never a name the
// request carries.
import type { reportingCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';
import { answerQuestion, imageFacts, listReportVersions, loadReport, redraftReport, saveReportText, type ReportAuthor } from '../../reporting/index';

export function reportingHandlers(ctx: HandlerContext): DomainHandlers<typeof reportingCalls> {
  const db = ctx.store.db;
  const author = (): ReportAuthor => {
    const a = ctx.actor();
    return { userId: a.userId, username: a.username, displayName: a.displayName || a.username };
  };
  return {
    'report:get': ({ caseId }) => loadReport(db, caseId),
    'report:save': ({ caseId, baseVersion, text, findingsFingerprint }) => {
      const r = saveReportText(db, caseId, { baseVersion, text, findingsFingerprint }, author());
      if (r.version !== baseVersion) ctx.emit('report:onChanged', { caseId, version: r.version });
      return r;
    },
    'report:redraft': ({ caseId, baseVersion }) => {
      const r = redraftReport(db, caseId, baseVersion, author());
      if (r.version !== baseVersion) ctx.emit('report:onChanged', { caseId, version: r.version });
      return r;
    },
    'report:versions': ({ caseId }) => ({ versions: listReportVersions(db, caseId) }),
    'vqa:ask': ({ imageId, question }) => answerQuestion(imageFacts(db, imageId), question),
  };
}
