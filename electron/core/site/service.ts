// The station's site service: the model pack in use, the operating threshold in force for it, the background
// re-scoring, and what happens when a new reading arrives (it is scored by the site head in force at once).
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';
import { Rescorer, rescoreCase, type RescoreProgress } from './rescore';
import { thresholdInForce, type SitePack, type ThresholdInForce } from './threshold';

export interface SiteEvents {
  /** a new site calibration version is in force (threshold or score changed) */
  changed(version: number | null): void;
  rescore(p: RescoreProgress): void;
  casesChanged(caseIds: number[]): void;
}

export class SiteService {
  readonly rescorer: Rescorer;

  constructor(
    private readonly db: Database,
    /** the pack the station reads with, or null while none is loaded */
    readonly pack: () => SitePack | null,
    private readonly events: SiteEvents,
  ) {
    this.rescorer = new Rescorer(db, pack, { progress: (p) => events.rescore(p), changed: (ids) => events.casesChanged(ids) });
  }

  requirePack(): SitePack {
    const p = this.pack();
    if (!p) throw new AppError('MODEL_MISSING', 'No model pack is loaded: site calibration belongs to a model, so it needs the station\'s model pack (see Settings > Station).');
    return p;
  }

  /** The operating threshold in force for the pack in use, or null without a pack. */
  threshold(): ThresholdInForce | null {
    const p = this.pack();
    return p ? thresholdInForce(this.db, p) : null;
  }

  /** A new reading of a case was stored: give the case its score in force (a site head's, where one is). */
  onAnalysis(caseId: number): void {
    const p = this.pack();
    if (!p) return;
    const t = thresholdInForce(this.db, p);
    if (t.headId !== null) rescoreCase(this.db, caseId, p, t.headId);
  }

  /** A site calibration version was written: tell the windows, and bring the worklist's scores to the one in force. */
  versionChanged(version: number | null): void {
    this.events.changed(version);
    this.events.casesChanged([]);
    this.rescorer.request();
  }

  async close(): Promise<void> {
    await this.rescorer.stop();
  }
}
