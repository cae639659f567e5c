// Report facts straight from a model reading, with no case store: what `cxr ask` and the language evaluation use.
// The boxes are the model's proposals as an unreviewed case would show them; zones come from the model's lung
// outlines, exactly as the station computes them for a stored case.
import type { ImageFacts, ReportFinding } from './facts';
import { lesionKind } from './facts';
import { assignZone, lungFieldFromPolygons } from './zones';

type Pt = [number, number];

export interface ModelReading {
  tbScore: number;
  /**
   * the pack's operating point, as the model reading states it: with no case store there is no site calibration,
   * so this is the threshold in force (site/threshold.ts falls back to it likewise)
   */
  threshold: number;
  boxes: { x: number; y: number; w: number; h: number; label: string; score: number }[];
  lungs: { right: Pt[]; left: Pt[] } | null;
  model: { name: string; version: string };
  image: { width: number; height: number };
}

export interface ReadingMeta {
  imageId?: number;
  modality?: string | null;
  view?: string | null;
  sourceFormat?: string;
  /** boxes scoring below this are not findings (default: all given) */
  minBoxScore?: number;
}

export function factsFromReading(r: ModelReading, meta: ReadingMeta = {}): ImageFacts {
  const imageId = meta.imageId ?? 0;
  const field = lungFieldFromPolygons(r.image.width, r.image.height, r.lungs);
  const findings: ReportFinding[] = r.boxes
    .filter((b) => b.score >= (meta.minBoxScore ?? -Infinity))
    .map((b, i) => {
      const z = assignZone(b, field);
      return {
        id: `ai-${i}`, imageId, label: b.label, kind: lesionKind(b.label), side: z.side, zones: z.zones, zoneMethod: z.method,
        score: b.score, source: 'ai' as const, state: 'proposed' as const, box: { x: b.x, y: b.y, w: b.w, h: b.h },
      };
    });
  return {
    imageId,
    modality: meta.modality ?? null,
    view: meta.view ?? null,
    sourceFormat: meta.sourceFormat ?? 'dicom',
    ai: { tbScore: r.tbScore, threshold: r.threshold, modelName: r.model.name, modelVersion: r.model.version },
    findings,
    rejected: 0,
    annotationVersion: 0,
  };
}
