// What a report may say about a case, reduced to facts: per image, its acquisition (modality, view), the AI's TB
// score and operating threshold, and the findings the reader kept (rejected ones are gone), each with its lesion
// kind, lung and zones. Drafting and question answering are pure functions of these facts, so that both are
// deterministic and testable without a database; ./store.ts builds them from the store.
import { createHash } from 'node:crypto';
import type { Side, Zone, ZoneMethod } from './zones';
import { isFlagged } from '../triage/index';

export type LesionKind = 'active' | 'obsolete' | 'other';
export type FindingState = 'proposed' | 'accepted' | 'rejected' | 'edited' | 'added';

export interface ReportFinding {
  id: string;
  imageId: number;
  label: string;
  kind: LesionKind;
  side: Side;
  zones: Zone[];
  zoneMethod: ZoneMethod;
  /** the model's confidence in the box (0..1), or null for a box the reader drew */
  score: number | null;
  source: 'ai' | 'user';
  state: Exclude<FindingState, 'rejected'>;
  box: { x: number; y: number; w: number; h: number };
}

export interface AiReading {
  /** the TB score in force (a site head's where one is in force, else the pack's own) */
  tbScore: number;
  /** the operating threshold in force (site/threshold.ts: the pack's default or a site calibration's) */
  threshold: number;
  modelName: string;
  modelVersion: string;
  /** where the threshold comes from: the pack's default (absent: the same) or a site calibration version */
  thresholdSource?: 'pack' | 'site';
  thresholdVersion?: number | null;
  /** the site head that produced tbScore; absent or null: the pack's own score */
  siteHead?: number | null;
}

/** "site calibration version 3" or "pack default". */
export function thresholdOrigin(ai: AiReading): string {
  return ai.thresholdSource === 'site' && ai.thresholdVersion ? `site calibration version ${ai.thresholdVersion}` : 'pack default';
}

export interface ImageFacts {
  imageId: number;
  modality: string | null;
  /** DICOM View Position as stored (PA, AP, ...), or null when the file does not say */
  view: string | null;
  /** dicom, png or jpeg */
  sourceFormat: string;
  ai: AiReading | null;
  findings: ReportFinding[];
  /** how many findings the reader rejected (never reported, but counted for the evidence of answers) */
  rejected: number;
  /** the annotation version the findings come from; 0 = the AI's proposal, unreviewed */
  annotationVersion: number;
}

export interface ReportFacts {
  caseId: number;
  images: ImageFacts[];
}

/** The lesion kind a label names: TBX11K's ActiveTuberculosis / ObsoletePulmonaryTuberculosis, or the reader's own words. */
export function lesionKind(label: string): LesionKind {
  const l = label.toLowerCase();
  // "inactive" contains "active": test the obsolete words first
  if (/obsolete|latent|healed|inactive|\bold\b|calcif/.test(l)) return 'obsolete';
  if (/active/.test(l)) return 'active';
  return 'other';
}

/** The image's triage flag (core/triage): its score is at or above the threshold in force. */
export function isTbPositive(ai: AiReading | null): boolean {
  return ai !== null && isFlagged(ai.tbScore, ai.threshold);
}

/**
 * A fingerprint of what the report is written from: the kept findings' kinds, labels, lungs and zones, the views,
 * and the AI score as the report prints it. A box moved within its zone does not change it; anything that would
 * change the draft's words does.
 */
export function factsFingerprint(facts: ReportFacts): string {
  const reduced = facts.images.map((im) => ({
    i: im.imageId,
    m: im.modality,
    v: im.view,
    f: im.sourceFormat,
    a: im.ai ? [im.ai.tbScore.toFixed(2), im.ai.threshold.toFixed(4), im.ai.modelName, im.ai.modelVersion, ...(im.ai.thresholdSource === 'site' ? [im.ai.thresholdVersion ?? null, im.ai.siteHead ?? null] : [])] : null,
    l: im.findings.map((f) => [f.kind, f.label, f.side, f.zones.join('+')].join('|')).sort(),
  }));
  return createHash('sha256').update(JSON.stringify(reduced)).digest('hex');
}
