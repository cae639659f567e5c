// The reader's annotations of an image, saved as versions: each save is a new version with its author and time,
// refused when it was built on a version that is no longer the latest (two windows, two readers); the AI's proposal
// stays unchanged in `analyses` and is what an image without versions opens with.
//
// Masks cross and rest bit-packed (8 pixels a byte, most significant bit first, row-major; ceil(w*h/8) bytes), and
// are deflated in SQLite rather than written as files: a lung mask deflates to tens of kilobytes, SQLite reads and
// writes blobs that small faster than separate files, and the version row and its masks commit in one transaction,
// so no crash can leave a version pointing at a half-written file (no fsync-and-rename, no orphan sweep).
import type { Database, Statement } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { z } from 'zod';
import { AnnotationSaveRequest, Finding, MaskLabel, PackedMask, PatchedMask, proposalFindings as proposalsOf, type AnnotationVersionInfo } from '../../contract/annotations';
import { assertImageEditable } from '../accounts/lock';
import { appendAudit } from '../accounts/audit';
import { AppError } from '../errors';

export { Finding, MaskLabel, PackedMask, PatchedMask };
export type { AnnotationVersionInfo };

/** Fast deflate: packed masks are long runs, which level 1 already shrinks about as well as level 6, in less time. */
const DEFLATE_LEVEL = 1;

/**
 * Statements compiled once per connection: a save runs about ten of them, and compiling each again (SQLCipher's
 * parser included) was a measurable share of a box save.
 */
const statements = new WeakMap<Database, Map<string, Statement>>();
function stmt(db: Database, sql: string): Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let s = byText.get(sql);
  if (!s) byText.set(sql, (s = db.prepare(sql)));
  return s;
}

/**
 * The bit-packed masks the latest saves stored or found stored, by annotation_masks row (rows are content-addressed
 * and never change; the sha256 is checked on use all the same): the next patch of a mask starts from these bits
 * instead of inflating them again. A few masks per connection (1.1 MB each at 3000 x 3000).
 */
const recentMasks = new WeakMap<Database, Map<number, { sha256: string; packed: Uint8Array }>>();
const RECENT_MASKS = 6;
function rememberMask(db: Database, maskRef: number, sha256: string, packed: Uint8Array): void {
  let byRef = recentMasks.get(db);
  if (!byRef) recentMasks.set(db, (byRef = new Map()));
  byRef.delete(maskRef);
  byRef.set(maskRef, { sha256, packed });
  for (const oldest of byRef.keys()) {
    if (byRef.size <= RECENT_MASKS) break;
    byRef.delete(oldest);
  }
}

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
  const img = stmt(db, 'SELECT i.rows, i.columns, se.study_ref AS caseId FROM images i JOIN series se ON se.id = i.series_ref WHERE i.id = ?').get(imageId) as ImageDims | undefined;
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
  return (stmt(db, 'SELECT id, model_name, model_version, result_json FROM analyses WHERE image_ref = ? ORDER BY id DESC LIMIT 1').get(imageId) as AnalysisRow | undefined) ?? null;
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
  const row = stmt(db, 'SELECT findings_json FROM annotation_versions WHERE image_ref = ? ORDER BY version DESC LIMIT 1').get(imageId) as { findings_json: string } | undefined;
  const json = row?.findings_json;
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
): { version: number; savedAt: string; masksWritten: number; caseId: number } {
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
    if ('patch' in m) return resolvePatch(db, imageId, baseVersion, img, m);
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
  // Hash before the write lock is taken. A mask that came deflated is stored as it came (it was just checked to
  // inflate to the right size); one that came packed or patched is deflated only if its pixels are new to the store
  // (an undo back to an earlier state finds them stored already).
  const prepared = masks.map((m) =>
    'packed' in m ? { ...m, sha256: createHash('sha256').update(m.packed).digest('hex'), data: m.deflated ? Buffer.from(m.deflated.buffer, m.deflated.byteOffset, m.deflated.byteLength) : null } : m,
  );

  const result = db.transaction(() => {
    // A signed case is locked (checked in the write transaction, so a sign-off cannot slip in between).
    assertImageEditable(db, imageId);
    const latest = stmt(db, 'SELECT id, version, analysis_ref, author, saved_at FROM annotation_versions WHERE image_ref = ? ORDER BY version DESC LIMIT 1').get(imageId) as
      | { id: number; version: number; analysis_ref: number | null; author: string; saved_at: string }
      | undefined;
    const latestVersion = latest?.version ?? 0;
    if (latestVersion !== baseVersion) throw new StaleVersionError(baseVersion, latestVersion, latest ? { author: latest.author, savedAt: latest.saved_at } : null);
    const analysisRef = latest ? latest.analysis_ref : latestAnalysis(db, imageId)?.id ?? null;
    const version = latestVersion + 1;
    const versionRef = Number(
      stmt(db, 'INSERT INTO annotation_versions (image_ref, version, analysis_ref, author, saved_at, findings_json) VALUES (?, ?, ?, ?, ?, ?)')
        .run(imageId, version, analysisRef, author, now, JSON.stringify(findings)).lastInsertRowid,
    );
    const link = stmt(db, 'INSERT INTO annotation_version_masks (version_ref, mask_key, label, source, mask_ref) VALUES (?, ?, ?, ?, ?)');
    let masksWritten = 0;
    const remembered: [number, string, Uint8Array][] = [];
    for (const m of prepared) {
      if ('missing' in m) throw new AppError('BAD_REQUEST', m.missing);
      if ('keep' in m) {
        const kept = latest
          ? (stmt(db, 'SELECT label, source, mask_ref FROM annotation_version_masks WHERE version_ref = ? AND mask_key = ?').get(latest.id, m.id) as
              | { label: string; source: string; mask_ref: number }
              | undefined)
          : undefined;
        if (!kept) throw new AppError('BAD_REQUEST', `Mask ${m.id} is marked unchanged, but version ${baseVersion} has no such mask; send its pixels.`);
        link.run(versionRef, m.id, kept.label, kept.source, kept.mask_ref);
        continue;
      }
      let maskRef = (stmt(db, 'SELECT id FROM annotation_masks WHERE image_ref = ? AND sha256 = ?').get(imageId, m.sha256) as { id: number } | undefined)?.id;
      if (maskRef === undefined) {
        maskRef = Number(
          stmt(db, "INSERT INTO annotation_masks (image_ref, width, height, sha256, encoding, data) VALUES (?, ?, ?, ?, 'bits-msb-deflate', ?)")
            .run(imageId, m.width, m.height, m.sha256, m.data ?? deflateSync(m.packed, { level: DEFLATE_LEVEL })).lastInsertRowid,
        );
        masksWritten++;
      }
      link.run(versionRef, m.id, m.label, m.source, maskRef);
      remembered.push([maskRef, m.sha256, m.packed]);
    }
    if (auditActor) {
      appendAudit(db, { actor: auditActor, action: 'annotations.save', target: { type: 'image', id: imageId }, details: { caseId: img.caseId, version, findings: findings.length, masksWritten } }, now);
    }
    return { version, savedAt: now, masksWritten, caseId: img.caseId, remembered };
  }).immediate();
  // Only what committed is remembered (a transaction that threw never gets here).
  for (const [ref, sha, packed] of result.remembered) rememberMask(db, ref, sha, packed);
  return { version: result.version, savedAt: result.savedAt, masksWritten: result.masksWritten, caseId: result.caseId };
}

/**
 * A patched mask made whole: the base version's mask of that id, inflated, with the sent bytes written over it.
 * Versions are immutable, so the base is read before the write lock; a base that has no such mask (or does not exist)
 * is reported inside the transaction, after the stale-version check, so that a stale save is told it is stale.
 */
function resolvePatch(
  db: Database,
  imageId: number,
  baseVersion: number,
  img: ImageDims,
  m: PatchedMask,
): { id: string; label: MaskLabel; source: 'ai' | 'user'; width: number; height: number; packed: Uint8Array; deflated: null } | { id: string; missing: string } {
  const base = stmt(
    db,
    `SELECT vm.label, vm.source, m.id AS maskRef, m.sha256, m.width, m.height FROM annotation_versions v
       JOIN annotation_version_masks vm ON vm.version_ref = v.id JOIN annotation_masks m ON m.id = vm.mask_ref
      WHERE v.image_ref = ? AND v.version = ? AND vm.mask_key = ?`,
  ).get(imageId, baseVersion, m.id) as { label: MaskLabel; source: 'ai' | 'user'; maskRef: number; sha256: string; width: number; height: number } | undefined;
  if (!base) return { id: m.id, missing: `Mask ${m.id} was sent as a patch, but version ${baseVersion} has no such mask to patch; send its pixels.` };
  if (base.width !== img.columns || base.height !== img.rows) {
    throw new AppError('BAD_REQUEST', `Mask ${m.id} of version ${baseVersion} is ${base.width} x ${base.height} but the image is ${img.columns} x ${img.rows}; send its pixels whole.`);
  }
  const expected = Math.ceil((base.width * base.height) / 8);
  const { start, length, rle } = m.patch;
  if (start + length > base.width * base.height) {
    throw new AppError('BAD_REQUEST', `The patch of mask ${m.id} (pixels ${start} to ${start + length}) runs past the end of the mask (${base.width * base.height} pixels).`);
  }
  // The mask the previous save stored is usually still in memory (a stroke follows a stroke): copy it, or inflate it.
  const cached = recentMasks.get(db)?.get(base.maskRef);
  let packed: Uint8Array;
  if (cached && cached.sha256 === base.sha256) packed = cached.packed.slice();
  else {
    const stored = stmt(db, 'SELECT data FROM annotation_masks WHERE id = ?').get(base.maskRef) as { data: Buffer };
    packed = new Uint8Array(inflateSync(stored.data, { maxOutputLength: expected + 1 }));
  }
  if (packed.byteLength !== expected) throw new AppError('INTERNAL', `The stored mask ${m.id} of version ${baseVersion} has ${packed.byteLength} bytes, not ${expected}.`);
  const problem = writeRuns(packed, start, length, rle);
  if (problem) throw new AppError('BAD_REQUEST', `The patch of mask ${m.id} is not valid run-length data: ${problem}.`);
  return { id: m.id, label: base.label, source: base.source, width: base.width, height: base.height, packed, deflated: null };
}

/**
 * Write run-length coded pixels (runs of a value byte 0 or 1 and a LEB128 length) over `length` bit-packed pixels
 * from pixel `start`; whole bytes inside a run are filled at once. Returns what is wrong with the data, or null.
 */
export function writeRuns(packed: Uint8Array, start: number, length: number, rle: Uint8Array): string | null {
  let at = start;
  const end = start + length;
  let i = 0;
  while (i < rle.length) {
    const v = rle[i++];
    if (v > 1) return `run value ${v} at byte ${i - 1} (pixels are 0 or 1)`;
    let len = 0;
    let mul = 1;
    for (let k = 0; ; k++) {
      if (i >= rle.length) return 'the data ends inside a run length';
      if (k === 5) return `run length too long at byte ${i}`;
      const b = rle[i++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    if (at + len > end) return `the runs cover more than the ${length} pixels of the patch`;
    let p = at;
    const stop = at + len;
    // head: up to the next byte boundary; body: whole bytes; tail: the rest
    for (; p < stop && (p & 7) !== 0; p++) {
      if (v) packed[p >>> 3] |= 0x80 >>> (p & 7);
      else packed[p >>> 3] &= ~(0x80 >>> (p & 7));
    }
    const wholeEnd = stop - ((stop - p) & 7);
    if (wholeEnd > p) {
      packed.fill(v ? 0xff : 0, p >>> 3, wholeEnd >>> 3);
      p = wholeEnd;
    }
    for (; p < stop; p++) {
      if (v) packed[p >>> 3] |= 0x80 >>> (p & 7);
      else packed[p >>> 3] &= ~(0x80 >>> (p & 7));
    }
    at = stop;
  }
  return at === end ? null : `the runs cover ${at - start} of the ${length} pixels of the patch`;
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
