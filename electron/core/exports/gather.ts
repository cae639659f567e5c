// Everything an export of a case is built from, read from the store as it stands now: the key image (its stored
// pixels and, for a DICOM import, the identity of its stored original), the AI reading, the reader's latest
// annotations with their provenance, the report (reporting's loadReport), the signature (sign-off's state) and the
// case's audit entries.
import { APP_NAME, APP_VERSION } from '../app';
import { AppError } from '../errors';
import { chooseInitialWindow } from '../imaging/index';
import { listAnnotationVersions, loadAnnotations } from '../annotations/index';
import { listAudit, loadSignature, signoffState, type SignedContent } from '../accounts/index';
import { imageFacts, loadReport, SECTION_ORDER, SECTION_TITLES } from '../reporting/index';
import { thresholdOrigin, type AiReading } from '../reporting/facts';
import { rasterizePolygon, type Point } from '../inference/postprocess';
import type { CaseStore } from '../store/index';
import { SOP_CLASS, uid } from './dicom';
import { readSourceAttributes, type SourceDicomAttributes } from './source';
import type { ExportInput, ExportMask, SegmentAlgorithmType, SignatureInfo } from './types';
import { isFlagged } from '../triage/index';

/**
 * The score and threshold an export states, and its flag: those in force (the signed ones for a signed case), as the
 * AI panel, the draft and the answers state them; the reading's own score and recorded pack default where there are
 * none (a reading that recorded no threshold: nothing is flagged).
 */
function scoreInForce(baseTbScore: number, ai: AiReading | null, recordedThreshold: unknown): Pick<NonNullable<ExportInput['analysis']>, 'tbScore' | 'baseTbScore' | 'threshold' | 'thresholdOrigin' | 'siteHead' | 'flagged'> {
  const tbScore = ai ? ai.tbScore : baseTbScore;
  const threshold = ai ? ai.threshold : typeof recordedThreshold === 'number' ? recordedThreshold : null;
  return {
    tbScore,
    baseTbScore,
    threshold,
    thresholdOrigin: ai ? thresholdOrigin(ai) : threshold !== null ? 'pack default' : null,
    siteHead: ai?.siteHead ?? null,
    flagged: isFlagged(tbScore, threshold),
  };
}

export interface GatherOptions {
  /** the image to export (default: the case's image with the highest TB score, else its first) */
  imageId?: number;
  now?: string;
  station?: Partial<ExportInput['station']>;
}

export const DEFAULT_STATION: Omit<ExportInput['station'], 'deviceSerialNumber'> = {
  manufacturer: APP_NAME,
  modelName: APP_NAME,
  softwareVersion: APP_VERSION,
};

interface ImageRow {
  id: number;
  source_sha256: string;
  source_format: string;
  source_name: string;
  sop_instance_uid: string;
  sop_class_uid: string | null;
  series_instance_uid: string;
  modality: string | null;
  body_part: string | null;
  view_position: string | null;
}

function keyImageId(store: CaseStore, caseId: number, wanted?: number): number {
  const c = store.getCase(caseId);
  if (!c.images.length) throw new AppError('EXPORT_NOTHING', `Case ${caseId} has no image to export.`);
  if (wanted !== undefined) {
    if (!c.images.some((i) => i.imageId === wanted)) throw new AppError('NOT_FOUND', `Image ${wanted} is not an image of case ${caseId}.`);
    return wanted;
  }
  let best = c.images[0].imageId;
  let bestScore = -Infinity;
  for (const im of c.images) {
    const a = store.getAnalysis(im.imageId);
    if (a && a.tbScore > bestScore) {
      best = im.imageId;
      bestScore = a.tbScore;
    }
  }
  return best;
}

/** Read what an export of the case needs. Throws NOT_FOUND for a case that does not exist. */
export function gatherExportInput(store: CaseStore, caseId: number, opts: GatherOptions = {}): ExportInput {
  const db = store.db;
  const c = store.getCase(caseId);
  const imageId = keyImageId(store, caseId, opts.imageId);
  const info = store.getImage(imageId);
  const row = db
    .prepare(
      `SELECT i.id, i.source_sha256, i.source_format, i.source_name, i.sop_instance_uid, i.sop_class_uid, se.series_instance_uid,
              se.modality, se.body_part, se.view_position
         FROM images i JOIN series se ON se.id = i.series_ref WHERE i.id = ?`,
    )
    .get(imageId) as ImageRow;
  const notes: string[] = [];

  // The identity of the source image: from the stored original where it is DICOM, else made from the case.
  let src: SourceDicomAttributes | null = null;
  if (row.source_format === 'dicom') {
    src = readSourceAttributes(store.readBlob('originals', row.source_sha256), row.source_name);
    if (!uid(src.studyInstanceUid) || !uid(src.sopInstanceUid) || !uid(src.seriesInstanceUid)) {
      notes.push(`${row.source_name} lacks some of its DICOM UIDs; the ones this station generated at import are used.`);
    }
  } else {
    notes.push(
      `${row.source_name} was imported as ${row.source_format.toUpperCase()}, not DICOM: the patient, study and image identity in the DICOM exports were generated from the case at import (UIDs under 2.25), and the image they reference exists only on this station.`,
    );
  }
  const generated = row.source_format !== 'dicom';

  const analysis = store.getAnalysis(imageId);
  const result = (analysis?.result ?? {}) as { threshold?: number; probabilities?: { name: string; p: number }[]; lungs?: { right: Point[]; left: Point[] } };
  if (!analysis) notes.push('The image has no AI reading: the exports hold no TB score.');
  // The score and threshold in force (the signed ones for a signed case): a site head's score and a site threshold
  // where the station has them, else the pack's own score and default.
  const ai = analysis ? imageFacts(db, imageId).ai : null;

  const ann = loadAnnotations(db, imageId);
  const masks = exportMasks(ann.masks, ann.aiLungs, info.rows, info.columns, ann.version, notes);

  // The report, as reporting holds it (the signed text when the case is signed).
  let report: ExportInput['report'] = null;
  try {
    const r = loadReport(db, caseId);
    const sections = r.sections
      ? SECTION_ORDER.map((k) => ({ title: SECTION_TITLES[k], text: r.sections![k] }))
      : [{ title: 'REPORT', text: r.text }];
    report = { sections, status: r.locked ? 'signed' : r.source === 'edited' ? (r.stale ? 'edited by the reader (written against earlier findings)' : 'edited by the reader') : 'draft written from the findings', updatedAt: r.savedAt };
  } catch (e) {
    if (e instanceof AppError && e.code === 'NOT_FOUND') throw e;
    notes.push(`The report text could not be read (${(e as Error).message}); the exports hold none.`);
  }

  const so = signoffState(db, caseId);
  const last = so.signatures[0];
  let signature: SignatureInfo = { state: 'unsigned' };
  if (last) {
    const uncovered = signatureGaps(loadSignature(db, last.id).content, c.images.map((i) => i.imageId), { imageId, pixelSha256: info.pixelSha256, annotationVersion: ann.version });
    signature = { state: 'signed', signerName: last.signerName, signedAt: last.signedAt, contentSha256: last.contentSha256, sequence: last.sequence, amendmentOpen: so.openAmendment !== null, coversExport: uncovered.length === 0 };
    if (so.openAmendment) notes.push(`An amendment is open (${so.openAmendment.reason}): what is exported may differ from what ${last.signerName} signed at ${last.signedAt}.`);
    else if (uncovered.length) notes.push(`This export is not what ${last.signerName} signed at ${last.signedAt} (${uncovered.join('; ')}): it is a draft.`);
  }
  const caseLinks = { followsCaseId: c.followsCaseId, followUpCaseIds: c.followUpCaseIds };
  if (c.followsCaseId !== null) {
    notes.push(`This case was opened for image(s) of the study that arrived after case ${c.followsCaseId} was signed; the signed report of case ${c.followsCaseId} does not include them.`);
  }
  if (c.followUpCaseIds.length) {
    notes.push(`Image(s) of this study that arrived after signing are in case(s) ${c.followUpCaseIds.join(', ')}, not in this report.`);
  }

  const imageIds = new Set(c.images.map((i) => String(i.imageId)));
  const audit = [
    ...listAudit(db, { targetType: 'case', targetId: caseId, limit: 5000 }),
    ...listAudit(db, { targetType: 'image', limit: 5000 }).filter((e) => e.targetId !== null && imageIds.has(e.targetId)),
  ]
    .sort((a, b) => a.id - b.id)
    .map((e) => ({ at: e.at, actor: e.actorName, action: e.action, details: e.details }));

  const decoded = store.loadDecodedImage(imageId);
  // The window the viewer opens the image with, so that the key image looks as the reader saw it first.
  const window = decoded.windows[chooseInitialWindow(decoded.windows).index] ?? { name: 'Full range', center: (decoded.minPixel + decoded.maxPixel) / 2, width: Math.max(1, decoded.maxPixel - decoded.minPixel) };

  const pick = (fromFile: string | null | undefined, fromStore: string | null) => (src ? (fromFile ?? fromStore) : fromStore);
  const sopClassUid = uid(row.sop_class_uid) || uid(src?.sopClassUid) || SOP_CLASS.secondaryCapture;
  return {
    generatedAt: opts.now ?? new Date().toISOString(),
    station: {
      ...DEFAULT_STATION,
      // One serial per station database: the DICOM objects of one station name the same device.
      deviceSerialNumber: `CXR-${hashShort(store.dbPath)}`,
      ...opts.station,
    },
    caseId,
    patient: {
      name: pick(src?.patientName, c.patientName) ?? '',
      id: pick(src?.patientId, c.patientId) ?? c.patientId,
      issuerOfPatientId: src?.issuerOfPatientId ?? null,
      birthDate: pick(src?.patientBirthDate, c.patientBirthDate),
      sex: pick(src?.patientSex, c.patientSex),
      age: src?.patientAge ?? null,
    },
    study: {
      // The station's UIDs: those of the file where it had them, else the ones generated at import.
      studyInstanceUid: c.studyInstanceUid,
      studyDate: pick(src?.studyDate, c.studyDate),
      studyTime: src?.studyTime ?? null,
      accessionNumber: pick(src?.accessionNumber, c.accessionNumber),
      studyId: src?.studyId ?? null,
      description: pick(src?.studyDescription, c.description),
      referringPhysicianName: src?.referringPhysicianName ?? null,
    },
    source: {
      imageId,
      origin: generated ? 'generated' : 'dicom',
      sopClassUid,
      sopInstanceUid: row.sop_instance_uid,
      seriesInstanceUid: row.series_instance_uid,
      modality: row.modality,
      frameOfReferenceUid: uid(src?.frameOfReferenceUid) || null,
      institutionName: src?.institutionName ?? null,
      bodyPartExamined: row.body_part,
      viewPosition: row.view_position,
      laterality: src?.laterality ?? null,
      patientOrientation: src?.patientOrientation ?? null,
      fileName: row.source_name,
    },
    image: {
      rows: info.rows,
      columns: info.columns,
      pixels: decoded.pixels,
      photometric: decoded.photometric,
      rescaleSlope: decoded.rescaleSlope,
      rescaleIntercept: decoded.rescaleIntercept,
      pixelSpacing: decoded.pixelSpacing,
      window,
    },
    analysis: analysis
      ? {
          analysisId: analysis.analysisId,
          model: analysis.model,
          ...scoreInForce(analysis.tbScore, ai, result.threshold),
          label: analysis.label,
          probabilities: Array.isArray(result.probabilities) ? result.probabilities : [],
          createdAt: analysis.createdAt,
        }
      : null,
    annotations: {
      version: ann.version,
      author: ann.author,
      savedAt: ann.savedAt,
      findings: ann.findings,
      versions: listAnnotationVersions(db, imageId).map((v) => ({ version: v.version, author: v.author, savedAt: v.savedAt, findingCount: v.findingCount, maskCount: v.maskCount })),
    },
    masks,
    lungOutlines: ann.aiLungs,
    report,
    signature,
    caseLinks,
    audit,
    notes,
  };
}

/**
 * How what is about to be exported differs from a signature's snapshot (empty: the signature covers it exactly):
 * the case's images against the signed ones, and the exported image's pixels and annotation version.
 */
export function signatureGaps(
  signed: Pick<SignedContent, 'images'>,
  caseImageIds: number[],
  exported: { imageId: number; pixelSha256: string; annotationVersion: number },
): string[] {
  const gaps: string[] = [];
  const signedIds = new Set(signed.images.map((i) => i.imageId));
  const added = caseImageIds.filter((id) => !signedIds.has(id));
  if (added.length) gaps.push(`image(s) ${added.join(', ')} arrived after signing`);
  const s = signed.images.find((i) => i.imageId === exported.imageId);
  if (!s) {
    if (!added.includes(exported.imageId)) gaps.push(`image ${exported.imageId} was not signed`);
  } else {
    if (s.pixelSha256 !== exported.pixelSha256) gaps.push(`the pixels of image ${exported.imageId} differ from the signed ones`);
    if (s.annotations.version !== exported.annotationVersion) gaps.push(`image ${exported.imageId} has annotation version ${exported.annotationVersion}; version ${s.annotations.version} was signed`);
  }
  return gaps;
}

function hashShort(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16).toUpperCase().padStart(8, '0');
}

export function packBits(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(pixels.length / 8));
  for (let i = 0; i < pixels.length; i++) if (pixels[i]) out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

function unpack(packed: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (packed[i >> 3] & (0x80 >> (i & 7))) out[i] = 1;
  return out;
}

/**
 * Whether a mask is the model's outline untouched: it may differ from our rasterisation of the outline only on the
 * outline's edge (one pixel either side), where two rasterisers of the same polygon may disagree; any difference
 * further in or out is a person's edit.
 */
export function matchesOutline(mask: Uint8Array, outline: Uint8Array, width: number, height: number): boolean {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (mask[i] === outline[i]) continue;
      const v = outline[i];
      const onEdge =
        (x > 0 && outline[i - 1] !== v) || (x < width - 1 && outline[i + 1] !== v) || (y > 0 && outline[i - width] !== v) || (y < height - 1 && outline[i + width] !== v);
      if (!onEdge) return false;
    }
  }
  return true;
}

/**
 * The masks to export with their segment algorithm type. The saved version's masks when it has any; before anything
 * is saved (or when a save carried no masks), the model's lung outlines rasterised at full resolution.
 */
export function exportMasks(
  saved: { id: string; label: ExportMask['label']; source: 'ai' | 'user'; width: number; height: number; packed: Uint8Array }[],
  aiLungs: { right: [number, number][]; left: [number, number][] } | null,
  rows: number,
  columns: number,
  version: number,
  notes: string[],
): ExportMask[] {
  const outline = (label: ExportMask['label']): Uint8Array | null => {
    if (!aiLungs || (label !== 'right_lung' && label !== 'left_lung')) return null;
    const poly = label === 'right_lung' ? aiLungs.right : aiLungs.left;
    return poly.length >= 3 ? rasterizePolygon(poly, columns, rows) : null;
  };
  if (saved.length) {
    return saved.map((m) => {
      let algorithmType: SegmentAlgorithmType = 'MANUAL';
      if (m.source === 'ai') {
        const ref = m.width === columns && m.height === rows ? outline(m.label) : null;
        algorithmType = ref && matchesOutline(unpack(m.packed, rows * columns), ref, columns, rows) ? 'AUTOMATIC' : 'SEMIAUTOMATIC';
      }
      return { ...m, algorithmType, origin: 'saved' as const };
    });
  }
  const out: ExportMask[] = [];
  for (const label of ['right_lung', 'left_lung'] as const) {
    const px = outline(label);
    if (px && px.some((v) => v === 1)) {
      out.push({ id: `model-${label}`, label, source: 'ai', width: columns, height: rows, packed: packBits(px), algorithmType: 'AUTOMATIC', origin: 'model_outline' });
    }
  }
  if (out.length && version > 0) notes.push('The saved annotations carry no masks; the lung masks are the model\'s outlines.');
  return out;
}
