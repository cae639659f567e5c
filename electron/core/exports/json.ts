// The whole case as one JSON document: patient and study, the exported image, the AI reading, the findings with
// their provenance and the model's originals, every annotation version, the masks (bit-packed, base64), the report,
// the signature and the case's audit entries. Versioned by `format` so that a reader can tell what it holds.
import { verifiedSignature, type ExportInput } from './types';

export const JSON_EXPORT_FORMAT = 'cxr-case-export/1';

export function caseDocument(input: ExportInput): Record<string, unknown> {
  return {
    format: JSON_EXPORT_FORMAT,
    generatedAt: input.generatedAt,
    station: input.station,
    caseId: input.caseId,
    patient: input.patient,
    study: input.study,
    image: {
      ...input.source,
      rows: input.image.rows,
      columns: input.image.columns,
      photometric: input.image.photometric,
      pixelSpacing: input.image.pixelSpacing,
      window: input.image.window,
    },
    analysis: input.analysis,
    annotations: {
      version: input.annotations.version,
      author: input.annotations.author,
      savedAt: input.annotations.savedAt,
      findings: input.annotations.findings,
      versions: input.annotations.versions,
    },
    masks: input.masks.map((m) => ({
      id: m.id,
      label: m.label,
      source: m.source,
      algorithmType: m.algorithmType,
      origin: m.origin,
      width: m.width,
      height: m.height,
      encoding: 'bits-msb-first-base64',
      pixels: m.packed.reduce((n, b) => n + popcount(b), 0),
      data: Buffer.from(m.packed.buffer, m.packed.byteOffset, m.packed.byteLength).toString('base64'),
    })),
    modelLungOutlines: input.lungOutlines,
    report: input.report,
    signature: input.signature,
    /** signed and covering exactly what this file holds (a draft otherwise) */
    verified: verifiedSignature(input.signature) !== null,
    caseLinks: input.caseLinks,
    audit: input.audit,
    notes: input.notes,
  };
}

function popcount(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}

export function buildJson(input: ExportInput): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(caseDocument(input), null, 2)}\n`);
}
