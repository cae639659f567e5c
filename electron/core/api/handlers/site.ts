// Handlers of the site domain of the contract (electron/contract/site.ts): reference results, the calibration view,
// the site threshold and its history, the site head. Who may call what is checked before a handler runs (policy.ts:
// results by radiologists and administrators, calibration by administrators and lead radiologists); every change is
// audited by the service it calls, under whoever is at the station.
import type { siteCalls } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';
import {
  activateHead, addResult, calibrationHistory, calibrationReport, caseResults, driftReport, fitSiteHead, importResultsCsv, listHeads, previewResultsCsv,
  rollbackToPackDefault, setSiteThreshold, withdrawResult, type ResultActor,
} from '../../site/index';

/** JSON has no Infinity: the ROC curve's first point (nothing flagged) travels with a null threshold. */
function finite<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))) as T;
}

export function siteHandlers(ctx: HandlerContext): DomainHandlers<typeof siteCalls> {
  const db = ctx.store.db;
  const site = ctx.site;
  const actor = (): ResultActor => {
    const a = ctx.actor();
    return { userId: a.userId, username: a.username, displayName: a.displayName || a.username };
  };
  const activeHead = () => site.threshold()?.headId ?? null;
  return {
    'site:status': () => {
      const pack = site.pack();
      return { pack, threshold: site.threshold(), rescore: site.rescorer.progress() };
    },
    'site:results': ({ caseId }) => caseResults(db, caseId),
    'site:addResult': ({ caseId, ...input }) => {
      addResult(db, caseId, input, actor());
      return caseResults(db, caseId);
    },
    'site:withdrawResult': ({ resultId, reason }) => {
      const r = withdrawResult(db, resultId, reason, actor());
      return caseResults(db, r.caseId);
    },
    'site:previewImport': ({ fileName, text, skipUnmatched }) => previewResultsCsv(db, text, fileName, { skipUnmatched }),
    'site:importResults': ({ fileName, text, skipUnmatched }) => importResultsCsv(db, text, fileName, actor(), { skipUnmatched }),
    'site:calibration': () => finite(calibrationReport(db, site.requirePack())),
    'site:history': () => finite({ versions: calibrationHistory(db, site.pack()) }),
    'site:setThreshold': ({ choice, note }) => {
      const v = setSiteThreshold(db, site.requirePack(), choice, actor(), { note });
      site.versionChanged(v.version);
      return finite(v);
    },
    'site:rollback': ({ note }) => {
      const v = rollbackToPackDefault(db, site.requirePack(), actor(), { note });
      if (v) site.versionChanged(v.version);
      return finite({ version: v });
    },
    'site:heads': () => finite({ heads: listHeads(db, site.pack(), activeHead()) }),
    'site:fitHead': async () => {
      const pack = site.requirePack();
      // a fit runs many small solves; let the station answer other calls between them
      const h = await fitSiteHead(db, pack, actor(), { tick: () => new Promise((r) => setImmediate(r)) });
      return finite(h);
    },
    'site:activateHead': ({ headId, choice, note }) => {
      const v = activateHead(db, site.requirePack(), headId, choice ?? null, actor(), { note });
      site.versionChanged(v.version);
      return finite(v);
    },
    'site:drift': () => finite(driftReport(db, site.requirePack())),
  };
}
