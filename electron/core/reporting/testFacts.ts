// Report facts for the reporting tests: findings by kind, lung and zones, without a database.
import type { ImageFacts, ReportFinding, ReportFacts } from './facts';
import { lesionKind } from './facts';
import type { Side, Zone } from './zones';

let seq = 0;

export function finding(label: string, side: Side, zones: Zone[], extra: Partial<ReportFinding> = {}): ReportFinding {
  seq++;
  return {
    id: `f${seq}`,
    imageId: 1,
    label,
    kind: lesionKind(label),
    side,
    zones,
    zoneMethod: 'lung_outline',
    score: 0.8,
    source: 'ai',
    state: 'accepted',
    box: { x: 10 * seq, y: 10, w: 50, h: 50 },
    ...extra,
  };
}

export const ACTIVE = 'ActiveTuberculosis';
export const OBSOLETE = 'ObsoletePulmonaryTuberculosis';

export function image(findings: ReportFinding[], opts: Partial<ImageFacts> & { score?: number | null } = {}): ImageFacts {
  const { score, ...rest } = opts;
  return {
    imageId: 1,
    modality: 'DX',
    view: 'PA',
    sourceFormat: 'dicom',
    ai: score === null ? null : { tbScore: score ?? 50, threshold: 8.953532, modelName: 'cxr-tb-v1', modelVersion: '1.0.0' },
    findings,
    rejected: 0,
    annotationVersion: 1,
    ...rest,
  };
}

export function facts(...images: ImageFacts[]): ReportFacts {
  return { caseId: 1, images };
}
