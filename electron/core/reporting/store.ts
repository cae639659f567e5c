// The report of a case as the station holds it: built from the current findings (after the reader's corrections),
// kept as versions (migration 0060) once the reader edits the text or asks for a re-draft, and read by sign-off and
// the exports through loadReport.
//
// The rule: while the latest version is a draft (or there is none), the report follows the findings: it is
// re-written from them on every read. Once the reader saves edited text, that text is the report; when the
// findings then change, the report is marked stale (its fingerprint no longer matches) and only an explicit
// re-draft replaces the text, never a silent overwrite. A signed case reads as it was signed.
import type { Database } from 'better-sqlite3';
import { AppError } from '../errors';
import { loadAnnotations } from '../annotations/index';
import { assertCaseEditable, caseLockState } from '../accounts/lock';
import { appendAudit } from '../accounts/audit';
import { draftReport, parseSections, type ReportSections } from './draft';
import { factsFingerprint, lesionKind, type ImageFacts, type ReportFacts, type ReportFinding } from './facts';
import { assignZone, lungFieldFromPackedMasks, lungFieldFromPolygons, type LungField } from './zones';
import type { Point } from '../inference/postprocess';
import { readingInForce } from '../site/scoring';
import type { AiReading } from './facts';

export const REPORT_TEXT_MAX = 100_000;

export interface ReportVersionInfo {
  version: number;
  source: 'draft' | 'edited';
  author: string;
  savedAt: string;
  findingsFingerprint: string;
}

export interface CaseReport {
  caseId: number;
  /** the report text as it stands (the signed text when the case is signed and locked) */
  text: string;
  /** the text's sections when it keeps the draft's headings, else null */
  sections: ReportSections | null;
  /** draft: written from the findings (it follows them); edited: the reader's text */
  source: 'draft' | 'edited';
  /** the reader's text was written against other findings than the current ones: offer a re-draft */
  stale: boolean;
  /** the latest stored version (0: nothing stored, the text is the live draft); the base for the next save */
  version: number;
  author: string | null;
  savedAt: string | null;
  /** the fingerprint of the current findings (send it back with a save of text written against them) */
  findingsFingerprint: string;
  /** the draft the current findings give (equal to `text` while source is draft) */
  draftText: string;
  /** signed and not under amendment: the text cannot change */
  locked: boolean;
  signed: { sequence: number; signerName: string; signedAt: string } | null;
  facts: ReportFacts;
}

interface ImageRow {
  id: number;
  rows: number;
  columns: number;
  source_format: string;
  modality: string | null;
  view_position: string | null;
}

interface AnalysisRow {
  id: number;
  model_name: string;
  model_version: string;
  tb_score: number;
  result_json: string;
}

function requireCase(db: Database, caseId: number): void {
  if (!db.prepare('SELECT 1 FROM studies WHERE id = ?').get(caseId)) throw new AppError('NOT_FOUND', `Case ${caseId} does not exist.`);
}

/** The report facts of one image: its acquisition, the AI reading its annotations started from, and the kept findings with zones. */
export function imageFacts(db: Database, imageId: number): ImageFacts {
  const img = db
    .prepare('SELECT i.id, i.rows, i.columns, i.source_format, se.modality, se.view_position, se.study_ref AS case_ref FROM images i JOIN series se ON se.id = i.series_ref WHERE i.id = ?')
    .get(imageId) as (ImageRow & { case_ref: number }) | undefined;
  if (!img) throw new AppError('NOT_FOUND', `Image ${imageId} does not exist.`);
  return factsOf(db, img, signedReadings(db, img.case_ref));
}

/**
 * A signed (and locked) case keeps the score and threshold it was signed with, whatever the threshold or the site
 * head in force now: image → AI reading from the latest signature, or null when the case is not locked or was
 * signed before signatures held the reading.
 */
function signedReadings(db: Database, caseId: number): Map<number, AiReading | null> | null {
  const lock = caseLockState(db, caseId);
  if (!lock.signed || lock.amendmentOpen) return null;
  const row = db.prepare('SELECT content_json FROM signatures WHERE case_ref = ? ORDER BY sequence DESC LIMIT 1').pluck().get(caseId) as string | undefined;
  if (!row) return null;
  const images = (JSON.parse(row) as { images?: { imageId: number; ai?: AiReading | null }[] }).images ?? [];
  if (!images.some((i) => i.ai !== undefined)) return null;
  return new Map(images.filter((i) => i.ai !== undefined).map((i) => [i.imageId, i.ai ?? null]));
}

/** The AI reading in force for a stored analysis: the score and threshold the station uses now. */
function aiReadingOf(db: Database, analysis: AnalysisRow): AiReading | null {
  const r = readingInForce(db, analysis.id);
  if (!r) return null;
  return {
    tbScore: r.score, threshold: r.threshold.value, modelName: analysis.model_name, modelVersion: analysis.model_version,
    thresholdSource: r.threshold.source, thresholdVersion: r.threshold.version, siteHead: r.headId,
  };
}

function factsOf(db: Database, img: ImageRow, signed: Map<number, AiReading | null> | null = null): ImageFacts {
  const ann = loadAnnotations(db, img.id);
  const analysis = (
    ann.analysisId !== null
      ? db.prepare('SELECT id, model_name, model_version, tb_score, result_json FROM analyses WHERE id = ?').get(ann.analysisId)
      : db.prepare('SELECT id, model_name, model_version, tb_score, result_json FROM analyses WHERE image_ref = ? ORDER BY id DESC LIMIT 1').get(img.id)
  ) as AnalysisRow | undefined;
  // The reader's lung masks when both lungs are drawn, else the model's outlines.
  const rightMasks = ann.masks.filter((m) => m.label === 'right_lung' && m.width === img.columns && m.height === img.rows).map((m) => m.packed);
  const leftMasks = ann.masks.filter((m) => m.label === 'left_lung' && m.width === img.columns && m.height === img.rows).map((m) => m.packed);
  let field: LungField | null = null;
  const lungs = (): LungField => {
    if (field) return field;
    field = rightMasks.length && leftMasks.length
      ? lungFieldFromPackedMasks(img.columns, img.rows, rightMasks, leftMasks)
      : lungFieldFromPolygons(img.columns, img.rows, ann.aiLungs as { right: Point[]; left: Point[] } | null);
    return field;
  };
  const findings: ReportFinding[] = [];
  let rejected = 0;
  for (const f of ann.findings) {
    if (f.state === 'rejected') {
      rejected++;
      continue;
    }
    const z = assignZone(f, lungs());
    findings.push({
      id: f.id,
      imageId: img.id,
      label: f.label,
      kind: lesionKind(f.label),
      side: z.side,
      zones: z.zones,
      zoneMethod: z.method,
      score: f.provenance.source === 'ai' && typeof f.score === 'number' ? f.score : null,
      source: f.provenance.source,
      state: f.state,
      box: { x: f.x, y: f.y, w: f.w, h: f.h },
    });
  }
  return {
    imageId: img.id,
    modality: img.modality,
    view: img.view_position,
    sourceFormat: img.source_format,
    ai: signed?.has(img.id) ? signed.get(img.id)! : analysis ? aiReadingOf(db, analysis) : null,
    findings,
    rejected,
    annotationVersion: ann.version,
  };
}

/** The report facts of every image of a case. */
export function caseFacts(db: Database, caseId: number): ReportFacts {
  requireCase(db, caseId);
  const imgs = db
    .prepare('SELECT i.id, i.rows, i.columns, i.source_format, se.modality, se.view_position FROM images i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = ? ORDER BY i.id')
    .all(caseId) as ImageRow[];
  const signed = signedReadings(db, caseId);
  return { caseId, images: imgs.map((i) => factsOf(db, i, signed)) };
}

interface VersionRow {
  version: number;
  source: 'draft' | 'edited';
  text: string;
  findings_fingerprint: string;
  author: string;
  saved_at: string;
}

function latestVersion(db: Database, caseId: number): VersionRow | null {
  return (
    (db
      .prepare('SELECT version, source, text, findings_fingerprint, author, saved_at FROM report_versions WHERE case_ref = ? ORDER BY version DESC LIMIT 1')
      .get(caseId) as VersionRow | undefined) ?? null
  );
}

/** The text of the report in the latest signature of a case, if that signature carried one. */
function signedText(db: Database, caseId: number): string | null {
  const row = db.prepare('SELECT content_json FROM signatures WHERE case_ref = ? ORDER BY sequence DESC LIMIT 1').pluck().get(caseId) as string | undefined;
  if (!row) return null;
  const report = (JSON.parse(row) as { report?: { text?: unknown } | null }).report;
  return report && typeof report.text === 'string' ? report.text : null;
}

/** The case's report as it stands: what the UI shows, sign-off snapshots and the exports print. */
export function loadReport(db: Database, caseId: number): CaseReport {
  const facts = caseFacts(db, caseId);
  const fingerprint = factsFingerprint(facts);
  const draft = draftReport(facts);
  const latest = latestVersion(db, caseId);
  const lock = caseLockState(db, caseId);
  const locked = lock.signed && !lock.amendmentOpen;
  const signed = lock.lastSignature ? { sequence: lock.lastSignature.sequence, signerName: lock.lastSignature.signerName, signedAt: lock.lastSignature.signedAt } : null;
  const base = { caseId, version: latest?.version ?? 0, author: latest?.author ?? null, savedAt: latest?.saved_at ?? null, findingsFingerprint: fingerprint, draftText: draft.text, locked, signed, facts };
  if (locked) {
    // What was signed is the report, whatever the live draft would now say (a newer model may have read the image since).
    const text = signedText(db, caseId) ?? (latest?.source === 'edited' ? latest.text : draft.text);
    return { ...base, text, sections: parseSections(text), source: latest?.source === 'edited' ? 'edited' : 'draft', stale: false };
  }
  if (!latest || latest.source === 'draft') return { ...base, text: draft.text, sections: draft.sections, source: 'draft', stale: false };
  return { ...base, text: latest.text, sections: parseSections(latest.text), source: 'edited', stale: latest.findings_fingerprint !== fingerprint };
}

/** What a signature keeps of the report: the text and where it came from (the facts are in the signed annotations). */
export function reportForSignature(db: Database, caseId: number): { text: string; source: 'draft' | 'edited'; version: number; stale: boolean; findingsFingerprint: string } {
  const r = loadReport(db, caseId);
  return { text: r.text, source: r.source, version: r.version, stale: r.stale, findingsFingerprint: r.findingsFingerprint };
}

export interface ReportAuthor {
  userId: number | null;
  username: string;
  displayName: string;
}

function checkBase(latest: VersionRow | null, baseVersion: number): void {
  const current = latest?.version ?? 0;
  if (baseVersion !== current) {
    throw new AppError(
      'REPORT_VERSION_STALE',
      `The report was changed elsewhere (version ${current}${latest ? ` saved by ${latest.author} at ${latest.saved_at}` : ''}) after version ${baseVersion}, which this edit was made on. Nothing was saved; reload the report to see the latest text.`,
    );
  }
}

function insertVersion(db: Database, caseId: number, v: Omit<VersionRow, 'saved_at' | 'author'>, who: ReportAuthor, now: string): void {
  db.prepare('INSERT INTO report_versions (case_ref, version, source, text, findings_fingerprint, author, author_ref, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    caseId, v.version, v.source, v.text, v.findings_fingerprint, who.displayName, who.userId, now,
  );
  appendAudit(db, { actor: { userId: who.userId, username: who.username }, action: v.source === 'edited' ? 'report.save' : 'report.redraft', target: { type: 'case', id: caseId }, details: { version: v.version, findingsFingerprint: v.findings_fingerprint, chars: v.text.length } }, now);
}

export interface SaveReportInput {
  /** the version the text was edited on (CaseReport.version) */
  baseVersion: number;
  text: string;
  /** the findings fingerprint the reader saw while editing (CaseReport.findingsFingerprint); the current one if absent */
  findingsFingerprint?: string;
}

/** Save the reader's text as a new version. Refused when the case is locked or the base version is not the latest. */
export function saveReportText(db: Database, caseId: number, input: SaveReportInput, who: ReportAuthor, now: string = new Date().toISOString()): CaseReport {
  const text = input.text.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  if (!text.trim()) throw new AppError('BAD_REQUEST', 'The report text is empty; nothing was saved. To go back to the draft, use re-draft.');
  if (text.length > REPORT_TEXT_MAX) throw new AppError('BAD_REQUEST', `The report text has ${text.length} characters; at most ${REPORT_TEXT_MAX} can be saved. Nothing was saved.`);
  if (input.findingsFingerprint !== undefined && !/^[0-9a-f]{64}$/.test(input.findingsFingerprint)) throw new AppError('BAD_REQUEST', 'findingsFingerprint must be the 64-hex fingerprint that report:get returned.');
  db.transaction(() => {
    requireCase(db, caseId);
    assertCaseEditable(db, caseId);
    const latest = latestVersion(db, caseId);
    checkBase(latest, input.baseVersion);
    const current = loadReport(db, caseId);
    // Saving the text unchanged stores nothing: the report would read the same, and the draft keeps following the findings.
    if (text === current.text.replace(/\s+$/, '')) return;
    insertVersion(db, caseId, { version: (latest?.version ?? 0) + 1, source: 'edited', text, findings_fingerprint: input.findingsFingerprint ?? current.findingsFingerprint }, who, now);
  }).immediate();
  return loadReport(db, caseId);
}

/** Replace the text with a draft of the current findings; the report follows the findings again from here. */
export function redraftReport(db: Database, caseId: number, baseVersion: number, who: ReportAuthor, now: string = new Date().toISOString()): CaseReport {
  db.transaction(() => {
    requireCase(db, caseId);
    assertCaseEditable(db, caseId);
    const latest = latestVersion(db, caseId);
    checkBase(latest, baseVersion);
    if (!latest || latest.source === 'draft') return; // already following the findings
    const current = loadReport(db, caseId);
    insertVersion(db, caseId, { version: latest.version + 1, source: 'draft', text: current.draftText, findings_fingerprint: current.findingsFingerprint }, who, now);
  }).immediate();
  return loadReport(db, caseId);
}

/** Every stored version of a case's report, newest first. */
export function listReportVersions(db: Database, caseId: number): (ReportVersionInfo & { text: string })[] {
  requireCase(db, caseId);
  return (
    db
      .prepare('SELECT version, source, text, findings_fingerprint AS findingsFingerprint, author, saved_at AS savedAt FROM report_versions WHERE case_ref = ? ORDER BY version DESC')
      .all(caseId) as (ReportVersionInfo & { text: string })[]
  );
}
