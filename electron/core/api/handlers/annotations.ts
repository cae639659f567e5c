// Handlers of the annotations domain of the contract (electron/contract/annotations.ts). The author of a save is
// whoever is at the station (ctx.actor()), never a name the request carries.
import type { annotationCalls, Finding } from '../../../contract/index';
import type { DomainHandlers, HandlerContext } from '../context';
import { latestFindings, listAnnotationVersions, loadAnnotations, saveAnnotationVersion } from '../../annotations/index';
import { caseLockState } from '../../accounts/lock';

export function annotationHandlers(ctx: HandlerContext): DomainHandlers<typeof annotationCalls> {
  const db = ctx.store.db;
  return {
    'annotations:get': ({ imageId }) => {
      const state = loadAnnotations(db, imageId);
      const lock = caseLockState(db, state.caseId);
      const locked =
        lock.signed && !lock.amendmentOpen
          ? {
              code: 'CASE_SIGNED',
              message: `This case was signed${lock.lastSignature ? ` by ${lock.lastSignature.signerName} at ${lock.lastSignature.signedAt}` : ''}; its annotations are read-only until a radiologist opens an amendment.`,
            }
          : null;
      return { ...state, locked };
    },
    'annotations:save': ({ imageId, baseVersion, findings, masks }) => {
      const actor = ctx.actor();
      const author = actor.displayName || actor.username;
      const now = new Date().toISOString();
      const previous = new Map(latestFindings(db, imageId).map((f) => [f.id, f]));
      const stamped = findings.map((f) => stampProvenance(f, previous.get(f.id), author, now));
      const saved = saveAnnotationVersion(db, imageId, { author, baseVersion, findings: stamped, masks }, now, { userId: actor.userId, username: actor.username });
      const event = { imageId, caseId: saved.caseId, version: saved.version, author, savedAt: saved.savedAt, masksWritten: saved.masksWritten };
      ctx.emit('annotations:onSaved', event);
      return { ...event, findings: stamped };
    },
    'annotations:versions': ({ imageId }) => ({ imageId, versions: listAnnotationVersions(db, imageId) }),
  };
}

/**
 * Who changed a finding is recorded by the station, not taken from the request: a finding that is new or differs
 * from the latest saved version gets `changedBy`/`changedAt` (and a person's new box its `author`); an unchanged one
 * keeps what it had.
 */
function stampProvenance(f: Finding, before: Finding | undefined, author: string, now: string): Finding {
  const { changedBy: _b, changedAt: _a, ...rest } = f.provenance;
  const unchanged = before && sameFinding(before, f);
  if (unchanged) return { ...f, provenance: before.provenance };
  const provenance = { ...rest, ...(f.provenance.source === 'user' && !before ? { author } : {}), changedBy: author, changedAt: now };
  if (f.provenance.source === 'user' && before?.provenance.author) provenance.author = before.provenance.author;
  return { ...f, provenance };
}

function sameFinding(a: Finding, b: Finding): boolean {
  const strip = (f: Finding) => JSON.stringify({ ...f, provenance: { source: f.provenance.source, model: f.provenance.model } });
  return strip(a) === strip(b);
}
