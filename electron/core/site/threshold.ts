// The operating threshold in force, and the score it applies to. One function decides it for every use (the
// worklist flag, the AI panel, the report draft, the answers, the exports): the latest site calibration version
// fitted for this very pack (name, version and model sha256) when it sets a threshold, else the pack's own default.
// A calibration made for another pack never applies; it is shown as belonging to another model.
import type { Database } from 'better-sqlite3';
import type { WorklistRow } from '../../contract/index';
import type { StoredWorklistRow } from '../store/index';
import { isFlagged } from '../triage/index';

/** A model pack as the site tables key it. */
export interface PackKey {
  name: string;
  version: string;
  sha256: string;
}

/** A pack with what the site needs of its manifest. */
export interface SitePack extends PackKey {
  /** the pack's operating threshold on the TB score (manifest operating_point.tb_score_threshold) */
  defaultThreshold: number;
  /** length of its embedding output, or null when it has none (no site head possible) */
  embeddingDim: number | null;
}

export interface ThresholdInForce {
  /** flagged when the score in force is ≥ value (0–100) */
  value: number;
  /** 'pack': the pack's default; 'site': a site calibration version */
  source: 'pack' | 'site';
  /** the site calibration version, when source is 'site' */
  version: number | null;
  /** the site head whose score the threshold applies to; null: the pack's own TB score */
  headId: number | null;
  packDefault: number;
  pack: PackKey;
  /** "pack default" or "site calibration version N" */
  label: string;
  setBy: string | null;
  setAt: string | null;
}

interface CalibrationRow {
  id: number;
  kind: 'threshold' | 'pack_default';
  threshold: number | null;
  head_ref: number | null;
  created_by: string;
  created_at: string;
}

export function sameModel(a: PackKey, b: PackKey): boolean {
  return a.name === b.name && a.version === b.version && a.sha256.toLowerCase() === b.sha256.toLowerCase();
}

export function packLabel(p: PackKey): string {
  return `${p.name} ${p.version}`;
}

/** The site calibration version in force for this pack (the latest for it), or null. */
export function latestCalibration(db: Database, pack: PackKey): CalibrationRow | null {
  return (
    (db
      .prepare(
        `SELECT id, kind, threshold, head_ref, created_by, created_at FROM site_calibrations
          WHERE pack_name = ? AND pack_version = ? AND pack_sha256 = ? ORDER BY id DESC LIMIT 1`,
      )
      .get(pack.name, pack.version, pack.sha256.toLowerCase()) as CalibrationRow | undefined) ?? null
  );
}

/**
 * The operating threshold in force for a pack: the site threshold when the latest site calibration version for this
 * pack sets one, else the pack's default. This is the one place that decides it.
 */
export function thresholdInForce(db: Database, pack: PackKey & { defaultThreshold: number }): ThresholdInForce {
  const key: PackKey = { name: pack.name, version: pack.version, sha256: pack.sha256.toLowerCase() };
  const row = latestCalibration(db, key);
  if (!row || row.kind === 'pack_default' || row.threshold === null) {
    return {
      value: pack.defaultThreshold, source: 'pack', version: null, headId: null, packDefault: pack.defaultThreshold, pack: key,
      label: 'pack default', setBy: row?.created_by ?? null, setAt: row?.created_at ?? null,
    };
  }
  return {
    value: row.threshold, source: 'site', version: row.id, headId: row.head_ref, packDefault: pack.defaultThreshold, pack: key,
    label: `site calibration version ${row.id}`, setBy: row.created_by, setAt: row.created_at,
  };
}

/**
 * A worklist row's flag: its score at or above the threshold in force, where that score was read by the pack in
 * use (a case still holding another model's score awaits its new reading and is not flagged against this pack; a
 * case without a score is not flagged).
 */
export function flagWorklistRow(r: StoredWorklistRow, t: ThresholdInForce | null): WorklistRow {
  const { aiScoreModel, ...row } = r;
  const model = aiScoreModel?.toLowerCase() ?? null;
  const stale = t !== null && model !== null && model !== t.pack.sha256;
  // the same rule as the store's flagged-only filter (findCasesForWorklist): read by the pack in use, and flagged
  const flagged = t !== null && model === t.pack.sha256 && r.aiScore !== null && isFlagged(r.aiScore, t.value);
  return { ...row, aiScoreStale: stale, flagged };
}
