// The reader's annotations of an image, saved as versions: each save is a new version with its author and time,
// refused when it was built on a version that is no longer the latest (two windows, two readers); the AI's proposal
// stays unchanged in `analyses` and is what an image without versions opens with.
//
// Masks cross and rest bit-packed (8 pixels a byte, most significant bit first, row-major; ceil(w*h/8) bytes), and
// are deflated in SQLite rather than written as files: a lung mask deflates to tens of kilobytes, SQLite reads and
// writes blobs that small faster than separate files, and the version row and its masks commit in one transaction,
// so no crash can leave a version pointing at a half-written file (no fsync-and-rename, no orphan sweep).
import type { Database } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { z } from 'zod';
import { AnnotationSaveRequest, Finding, MaskLabel, PackedMask, proposalFindings as proposalsOf, type AnnotationVersionInfo } from '../../contract/annotations';
import { assertImageEditable } from '../accounts/lock';
import { appendAudit } from '../accounts/audit';
import { AppError } from '../errors';

export { Finding, MaskLabel, PackedMask };
export type { AnnotationVersionInfo };

/** Fast deflate: packed masks are long runs, which level 1 already shrinks about as well as level 6, in less time. */
const DEFLATE_LEVEL = 1;

/** A save as core takes it: the contract's request (less the image) and the author, whom the caller establishes. */
export const SaveAnnotationInput = AnnotationSaveRequest.omit({ imageId: true }).extend({ author: z.string().trim().min(1).max(200) });
export type SaveAnnotationInput = z.input<typeof SaveAnnotationInput>;

export interface AnnotationState {
  imageId: number;
  /** the case (study) the image belongs to */
  caseId: number;
  /** 0: nothing saved yet, the findings are the AI's proposal */
  version: number;
  author: string | null;
  savedAt: string | null;
  /** the analysis the annotations started from, if any */
  analysisId: number | null;
  findings: Finding[];
  masks: PackedMask[];
  /** the model's lung outlines (image pixels), for the editor to turn into masks on version 0 and to show the original */
  aiLungs: { right: [number, number][]; left: [number, number][] } | null;
}

/** The error a save gets when someone saved another version since the one it was built on. */
export class StaleVersionError extends AppError {
  constructor(
    readonly baseVersion: number,
    readonly latestVersion: number,
    latest: { author: string; savedAt: string } | null,
  ) {
    super(
      'ANNOTATION_VERSION_STALE',
      `These annotations were changed elsewhere (version ${latestVersion}` +
        (latest ? ` saved by ${latest.author} at ${latest.savedAt}` : '') +
        `) after version ${baseVersion}, which this edit was made on. Nothing was saved; reopen the image to see the latest version.`,
    );
  }
}

interface ImageDims {
  rows: number;
  columns: number;
  caseId: number;
}

function requireImage(db: Database, imageId: number): ImageDims {
  const img = db.prepare('SELECT i.rows, i.columns, se.study_ref AS caseId FROM images i JOIN series se ON se.id = i.series_ref WHERE i.id = ?').get(imageId) as ImageDims | undefined;
  if (!img) throw new AppError('NOT_FOUND', `No image ${imageId} in this database.`);
  return img;
}

interface AnalysisRow {
  id: number;
  model_name: string;
  model_version: string;
  result_json: string;
}

function latestAnalysis(db: Database, imageId: number): AnalysisRow | null {
  return (db.prepare('SELECT id, model_name, model_version, result_json FROM analyses WHERE image_ref = ? ORDER BY id DESC LIMIT 1').get(imageId) as AnalysisRow | undefined) ?? null;
}

/** The model's boxes as findings awaiting the reader's decision (ids stable per analysis: `ai-<analysis>-<index>`). */
export function proposalFindings(analysis: AnalysisRow): Finding[] {
  const r = JSON.parse(analysis.result_json) as { boxes?: { x: number; y: number; w: number; h: number; label: string; score: number }[] };
  return proposalsOf({ id: analysis.id, model: { name: analysis.model_name, version: analysis.model_version }, boxes: r.boxes ?? [] });
}

interface VersionRow {
  id: number;
  version: number;
  analysis_ref: number | null;
  author: string;
  saved_at: string;
  findings_json: string;
}

/** The findings of the latest saved version (or the AI's proposal), without reading any mask: cheap, for every save. */
export function latestFindings(db: Database, imageId: number): Finding[] {
  requireImage(db, imageId);
  const json = db.prepare('SELECT findings_json FROM annotation_versions WHERE image_ref = ? ORDER BY version DESC LIMIT 1').pluck().get(imageId) as string | undefined;
  if (json !== undefined) return JSON.parse(json) as Finding[];
  const analysis = latestAnalysis(db, imageId);
  return analysis ? proposalFindings(analysis) : [];
}

/** The latest saved version of an image's annotations, or, when none exists, the AI's proposal (version 0). */
export function loadAnnotations(db: Database, imageId: number): AnnotationState {
  const { caseId } = requireImage(db, imageId);
  const row = db
    .prepare('SELECT id, version, analysis_ref, author, saved_at, findings_json FROM annotation_versions WHERE image_ref = ? ORDER BY version DESC LIMIT 1')
    .get(imageId) as VersionRow | undefined;
  const analysis = row?.analysis_ref != null ? (db.prepare('SELECT id, model_name, model_version, result_json FROM analyses WHERE id = ?').get(row.analysis_ref) as AnalysisRow) : row ? null : latestAnalysis(db, imageId);
  const lungs = analysis ? (JSON.parse(analysis.result_json) as { lungs?: AnnotationState['aiLungs'] }).lungs ?? null : null;
  if (!row) {
    return { imageId, caseId, version: 0, author: null, savedAt: null, analysisId: analysis?.id ?? null, findings: analysis ? proposalFindings(analysis) : [], masks: [], aiLungs: lungs };
  }
  const masks = (
    db
      .prepare(
        `SELECT vm.mask_key, vm.label, vm.source, m.width, m.height, m.data FROM annotation_version_masks vm
           JOIN annotation_masks m ON m.id = vm.mask_ref WHERE vm.version_ref = ? ORDER BY vm.mask_key`,
      )
      .all(row.id) as { mask_key: string; label: PackedMask['label']; source: PackedMask['source']; width: number; height: number; data: Buffer }[]
  ).map((m) => ({ id: m.mask_key, label: m.label, source: m.source, width: m.width, height: m.height, packed: new Uint8Array(inflateSync(m.data)) }));
  return {
    imageId,
    caseId,
    version: row.version,
    author: row.author,
    savedAt: row.saved_at,
    analysisId: row.analysis_ref,
    findings: JSON.parse(row.findings_json) as Finding[],
    masks,
    aiLungs: lungs,
  };
}

/**
 * Save the reader's current annotations as a new version, atomically. Refused (StaleVersionError, nothing written)
 * when `baseVersion` is not the latest version. Masks whose packed bits are already stored for this image are not
 * stored again.
 */
export function saveAnnotationVersion(
  db: Database,
  imageId: number,
  input: SaveAnnotationInput,
  now: string = new Date().toISOString(),
  /** who saved, for the audit log (entered in the same transaction as the version); none: not audited (tests, tools) */
  auditActor?: { userId: number | null; username: string },
): { version: number; savedAt: string; masksWritten: number } {
  const parsed = SaveAnnotationInput.safeParse(input);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
    throw new AppError('BAD_REQUEST', `These annotations cannot be saved: ${detail}`);
  }
  const { author, baseVersion, findings, masks: sentMasks } = parsed.data;
  const img = requireImage(db, imageId);
  const ids = new Set<string>();
  for (const f of findings) {
    if (ids.has(f.id)) throw new AppError('BAD_REQUEST', `Finding ${f.id} appears twice.`);
    ids.add(f.id);
  }
  ids.clear();
  // Deflated masks are inflated first (no further than their packed size can be), then checked like packed ones.
  const masks = sentMasks.map((m) => {
    if (ids.has(m.id)) throw new AppError('BAD_REQUEST', `Mask ${m.id} appears twice.`);
    ids.add(m.id);
    if ('keep' in m) return m;
    if (m.width !== img.columns || m.height !== img.rows) {
      throw new AppError('BAD_REQUEST', `Mask ${m.id} is ${m.width} x ${m.height} but the image is ${img.columns} x ${img.rows}; masks are kept at full image resolution.`);
    }
    const expected = Math.ceil((m.width * m.height) / 8);
    let packed: Uint8Array;
    let deflated: Uint8Array | null = null;
    if ('deflated' in m) {
      // Inflated no further than a packed mask of this image can be (a hostile stream cannot blow up memory).
      try {
        packed = new Uint8Array(inflateSync(m.deflated, { maxOutputLength: expected + 1 }));
      } catch (e) {
        throw new AppError('BAD_REQUEST', `Mask ${m.id} could not be inflated: ${(e as Error).message}`);
      }
      deflated = m.deflated;
    } else packed = m.packed;
    if (packed.byteLength !== expected) throw new AppError('BAD_REQUEST', `Mask ${m.id} has ${packed.byteLength} bytes; ${m.width} x ${m.height} bit-packed is ${expected}.`);
    return { id: m.id, label: m.label, source: m.source, width: m.width, height: m.height, packed, deflated };
  });
  // Hash and compress before the write lock is taken, so that the transaction is only inserts. A mask that came
  // deflated is stored as it came (it was just checked to inflate to the right size).
  const prepared = masks.map((m) =>
    'packed' in m ? { ...m, sha256: createHash('sha256').update(m.packed).digest('hex'), data: m.deflated ? Buffer.from(m.deflated.buffer, m.deflated.byteOffset, m.deflated.byteLength) : deflateSync(m.packed, { level: DEFLATE_LEVEL }) } : m,
  );

  return db.transaction(() => {
    // A signed case is locked (checked in the write transaction, so a sign-off cannot slip in between).
    assertImageEditable(db, imageId);
    const latest = db.prepare('SELECT id, version, analysis_ref, author, saved_at FROM annotation_versions WHERE image_ref = ? ORDER BY version DESC LIMIT 1').get(imageId) as
      | { id: number; version: number; analysis_ref: number | null; author: string; saved_at: string }
      | undefined;
    const latestVersion = latest?.version ?? 0;
    if (latestVersion !== baseVersion) throw new StaleVersionError(baseVersion, latestVersion, latest ? { author: latest.author, savedAt: latest.saved_at } : null);
    const analysisRef = latest ? latest.analysis_ref : latestAnalysis(db, imageId)?.id ?? null;
    const version = latestVersion + 1;
    const versionRef = Number(
      db
        .prepare('INSERT INTO annotation_versions (image_ref, version, analysis_ref, author, saved_at, findings_json) VALUES (?, ?, ?, ?, ?, ?)')
        .run(imageId, version, analysisRef, author, now, JSON.stringify(findings)).lastInsertRowid,
    );
    const link = db.prepare('INSERT INTO annotation_version_masks (version_ref, mask_key, label, source, mask_ref) VALUES (?, ?, ?, ?, ?)');
    let masksWritten = 0;
    for (const m of prepared) {
      if ('keep' in m) {
        const kept = latest
          ? (db.prepare('SELECT label, source, mask_ref FROM annotation_version_masks WHERE version_ref = ? AND mask_key = ?').get(latest.id, m.id) as
              | { label: string; source: string; mask_ref: number }
              | undefined)
          : undefined;
        if (!kept) throw new AppError('BAD_REQUEST', `Mask ${m.id} is marked unchanged, but version ${baseVersion} has no such mask; send its pixels.`);
        link.run(versionRef, m.id, kept.label, kept.source, kept.mask_ref);
        continue;
      }
      let maskRef = db.prepare('SELECT id FROM annotation_masks WHERE image_ref = ? AND sha256 = ?').pluck().get(imageId, m.sha256) as number | undefined;
      if (maskRef === undefined) {
        maskRef = Number(
          db
            .prepare("INSERT INTO annotation_masks (image_ref, width, height, sha256, encoding, data) VALUES (?, ?, ?, ?, 'bits-msb-deflate', ?)")
            .run(imageId, m.width, m.height, m.sha256, m.data).lastInsertRowid,
        );
        masksWritten++;
      }
      link.run(versionRef, m.id, m.label, m.source, maskRef);
    }
    if (auditActor) {
      appendAudit(db, { actor: auditActor, action: 'annotations.save', target: { type: 'image', id: imageId }, details: { caseId: img.caseId, version, findings: findings.length, masksWritten } }, now);
    }
    return { version, savedAt: now, masksWritten };
  }).immediate();
}

/** Every saved version of an image's annotations, newest first. */
export function listAnnotationVersions(db: Database, imageId: number): AnnotationVersionInfo[] {
  requireImage(db, imageId);
  return (
    db
      .prepare(
        `SELECT v.version, v.author, v.saved_at AS savedAt, v.analysis_ref AS analysisId, json_array_length(v.findings_json) AS findingCount,
                (SELECT count(*) FROM annotation_version_masks vm WHERE vm.version_ref = v.id) AS maskCount
           FROM annotation_versions v WHERE v.image_ref = ? ORDER BY v.version DESC`,
      )
      .all(imageId) as AnnotationVersionInfo[]
  );
}
