// Reference results of cases: entered one at a time (the viewer, the CLI) or imported from a CSV file after a
// preview. Every write is audited in the same transaction; a result is never changed or deleted, only withdrawn.
//
// CSV: a header row naming the columns (any order, case-insensitive): `accession` or `patientId` (+ `studyDate`),
// `test`, `result`, `date`, optional `note`. A row matches a case by its accession number, else by patient ID and
// study date (YYYY-MM-DD or YYYYMMDD; it may be left empty when the patient has one case only). The preview sorts
// every row into: new (will be written), already stored (the same test, result and date for that case: skipped,
// so importing a file twice writes it once), duplicate in file (skipped), conflict (the case already has, or the
// file also gives, another result of that test on that date), unmatched (no case), or error (with why). An import
// writes all its new rows in one transaction, or nothing: it refuses while any row is an error or a conflict, and
// while rows are unmatched unless told to leave them out.
import type { Database } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { appendAudit, type AuditActor } from '../accounts/audit';
import { caseTruth, parseDate, parseResult, parseTest, RESULTS, TESTS, type CaseTruth, type ReferenceTest } from './rules';

export interface ResultActor extends AuditActor {
  displayName: string;
}

export interface ReferenceResult {
  id: number;
  caseId: number;
  test: ReferenceTest;
  result: string;
  date: string;
  note: string;
  source: 'viewer' | 'csv' | 'cli';
  enteredBy: string;
  enteredAt: string;
  withdrawn: { at: string; by: string; reason: string } | null;
}

interface ResultRow {
  id: number;
  case_ref: number;
  test: ReferenceTest;
  result: string;
  result_date: string;
  note: string;
  source: 'viewer' | 'csv' | 'cli';
  entered_by: string;
  entered_at: string;
  withdrawn_at: string | null;
  withdrawn_by: string | null;
  withdraw_reason: string | null;
}

function toResult(r: ResultRow): ReferenceResult {
  return {
    id: r.id, caseId: r.case_ref, test: r.test, result: r.result, date: r.result_date, note: r.note, source: r.source, enteredBy: r.entered_by, enteredAt: r.entered_at,
    withdrawn: r.withdrawn_at ? { at: r.withdrawn_at, by: r.withdrawn_by ?? '', reason: r.withdraw_reason ?? '' } : null,
  };
}

function requireCase(db: Database, caseId: number): void {
  if (!db.prepare('SELECT 1 FROM studies WHERE id = ?').get(caseId)) throw new AppError('NOT_FOUND', `Case ${caseId} does not exist.`);
}

/** Every result of a case (withdrawn ones too), oldest first, with the truth they give. */
export function caseResults(db: Database, caseId: number): { results: ReferenceResult[]; truth: CaseTruth } {
  requireCase(db, caseId);
  const rows = (db.prepare('SELECT * FROM reference_results WHERE case_ref = ? ORDER BY id').all(caseId) as ResultRow[]).map(toResult);
  return { results: rows, truth: caseTruth(rows.map((r) => ({ id: r.id, test: r.test, result: r.result, date: r.date, withdrawn: r.withdrawn !== null }))) };
}

/** The truth of every case that has a result: case id → truth. */
export function allCaseTruths(db: Database): Map<number, CaseTruth> {
  const byCase = new Map<number, { id: number; test: ReferenceTest; result: string; date: string; withdrawn: boolean }[]>();
  for (const r of db.prepare('SELECT id, case_ref, test, result, result_date, withdrawn_at FROM reference_results ORDER BY id').all() as { id: number; case_ref: number; test: ReferenceTest; result: string; result_date: string; withdrawn_at: string | null }[]) {
    const list = byCase.get(r.case_ref) ?? [];
    list.push({ id: r.id, test: r.test, result: r.result, date: r.result_date, withdrawn: r.withdrawn_at !== null });
    byCase.set(r.case_ref, list);
  }
  const out = new Map<number, CaseTruth>();
  for (const [caseId, list] of byCase) out.set(caseId, caseTruth(list));
  return out;
}

export interface NewResult {
  test: string;
  result: string;
  /** YYYY-MM-DD (or YYYYMMDD) */
  date: string;
  note?: string;
}

const NOTE_MAX = 2000;

function today(now: string): string {
  return now.slice(0, 10);
}

/** Check one result's fields; returns them normalised, or the reason they are not acceptable. */
export function checkResult(input: NewResult, now: string): { ok: true; test: ReferenceTest; result: string; date: string; note: string } | { ok: false; message: string } {
  const test = parseTest(input.test ?? '');
  if (!test) return { ok: false, message: `unknown test "${input.test ?? ''}" (use ${TESTS.join(', ')})` };
  const result = parseResult(test, input.result ?? '');
  if (!result) return { ok: false, message: `"${input.result ?? ''}" is not a ${test} result (use ${RESULTS[test].join(', ')})` };
  const date = parseDate(input.date ?? '');
  if (!date) return { ok: false, message: `"${input.date ?? ''}" is not a date (use YYYY-MM-DD)` };
  // one day of slack for time zones
  const limit = new Date(Date.parse(`${today(now)}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  if (date > limit) return { ok: false, message: `the date ${date} is in the future` };
  const note = (input.note ?? '').trim();
  if (note.length > NOTE_MAX) return { ok: false, message: `the note has ${note.length} characters; at most ${NOTE_MAX}` };
  return { ok: true, test, result, date, note };
}

/** Enter one result for a case (the viewer's panel, `cxr site results add`). */
export function addResult(db: Database, caseId: number, input: NewResult, actor: ResultActor, source: 'viewer' | 'cli' = 'viewer', now: string = new Date().toISOString()): ReferenceResult {
  const c = checkResult(input, now);
  if (!c.ok) throw new AppError('BAD_REQUEST', `The result was not saved: ${c.message}.`);
  return db.transaction(() => {
    requireCase(db, caseId);
    const id = Number(
      db
        .prepare('INSERT INTO reference_results (case_ref, test, result, result_date, note, source, entered_by, entered_by_ref, entered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(caseId, c.test, c.result, c.date, c.note, source, actor.displayName || actor.username, actor.userId, now).lastInsertRowid,
    );
    appendAudit(db, { actor, action: 'results.add', target: { type: 'case', id: caseId }, details: { resultId: id, test: c.test, result: c.result, date: c.date, source } }, now);
    return toResult(db.prepare('SELECT * FROM reference_results WHERE id = ?').get(id) as ResultRow);
  }).immediate();
}

/** Withdraw a result entered by mistake (it stays in the record, marked withdrawn, and no longer counts). */
export function withdrawResult(db: Database, resultId: number, reason: string, actor: ResultActor, now: string = new Date().toISOString()): ReferenceResult {
  const why = reason.trim();
  if (!why) throw new AppError('BAD_REQUEST', 'Say why the result is withdrawn.');
  return db.transaction(() => {
    const r = db.prepare('SELECT * FROM reference_results WHERE id = ?').get(resultId) as ResultRow | undefined;
    if (!r) throw new AppError('NOT_FOUND', `There is no reference result ${resultId}.`);
    if (r.withdrawn_at) throw new AppError('BAD_REQUEST', `Result ${resultId} was already withdrawn (${r.withdrawn_at} by ${r.withdrawn_by}).`);
    db.prepare('UPDATE reference_results SET withdrawn_at = ?, withdrawn_by = ?, withdraw_reason = ? WHERE id = ?').run(now, actor.displayName || actor.username, why.slice(0, 500), resultId);
    appendAudit(db, { actor, action: 'results.withdraw', target: { type: 'case', id: r.case_ref }, details: { resultId, reason: why.slice(0, 500) } }, now);
    return toResult(db.prepare('SELECT * FROM reference_results WHERE id = ?').get(resultId) as ResultRow);
  }).immediate();
}

// ---- CSV -------------------------------------------------------------------------------------------------------

export const CSV_MAX_BYTES = 5 * 1024 * 1024;
export const CSV_MAX_ROWS = 50_000;

/** RFC 4180 fields: quotes around fields with separators, doubled quotes inside; CRLF or LF; a BOM is ignored. */
export function parseCsv(text: string): string[][] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLine = s.slice(0, s.search(/\r?\n|$/));
  const sep = !firstLine.includes(',') && firstLine.includes(';') ? ';' : firstLine.includes('\t') && !firstLine.includes(',') ? '\t' : ',';
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      i++;
    } else if (ch === sep) {
      row.push(field);
      field = '';
      i++;
    } else if (ch === '\n' || ch === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += ch === '\r' && s[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (quoted) throw new AppError('RESULTS_IMPORT_INVALID', 'The CSV file ends inside a quoted field (a " is not closed).');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

const COLUMN_NAMES: Record<string, string> = {
  accession: 'accession', accessionnumber: 'accession', accession_number: 'accession', acc: 'accession',
  patientid: 'patientId', patient_id: 'patientId', pid: 'patientId',
  studydate: 'studyDate', study_date: 'studyDate',
  test: 'test', result: 'result',
  date: 'date', resultdate: 'date', result_date: 'date',
  note: 'note', notes: 'note', comment: 'note',
};

export type PreviewStatus = 'new' | 'already_stored' | 'duplicate_in_file' | 'conflict' | 'unmatched' | 'error';

export interface PreviewRow {
  /** line in the file (the header is line 1) */
  line: number;
  status: PreviewStatus;
  caseId: number | null;
  accession: string;
  patientId: string;
  test: string;
  result: string;
  date: string;
  note: string;
  /** for every status but new: what happened and why */
  message: string;
}

export interface ImportPreview {
  fileName: string;
  fileSha256: string;
  rows: PreviewRow[];
  counts: Record<PreviewStatus, number>;
  /** whether an import would be accepted as asked */
  canImport: boolean;
  /** why not, in words */
  blockers: string[];
}

interface CaseIndex {
  byAccession: Map<string, number[]>;
  byPatient: Map<string, { id: number; studyDate: string | null }[]>;
}

function caseIndex(db: Database): CaseIndex {
  const byAccession = new Map<string, number[]>();
  const byPatient = new Map<string, { id: number; studyDate: string | null }[]>();
  for (const r of db.prepare('SELECT id, accession_number, patient_id, study_date FROM studies').all() as { id: number; accession_number: string | null; patient_id: string; study_date: string | null }[]) {
    const acc = r.accession_number?.trim();
    if (acc) byAccession.set(acc, [...(byAccession.get(acc) ?? []), r.id]);
    const pid = r.patient_id.trim();
    byPatient.set(pid, [...(byPatient.get(pid) ?? []), { id: r.id, studyDate: r.study_date }]);
  }
  return { byAccession, byPatient };
}

/** Sort every row of a CSV file as an import would (see the module comment); writes nothing. */
export function previewResultsCsv(db: Database, text: string, fileName: string, opts: { skipUnmatched?: boolean; now?: string } = {}): ImportPreview {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CSV_MAX_BYTES) throw new AppError('RESULTS_IMPORT_INVALID', `${fileName} is ${(bytes / 2 ** 20).toFixed(1)} MB; a results file can have at most ${CSV_MAX_BYTES / 2 ** 20} MB. Split it.`);
  const now = opts.now ?? new Date().toISOString();
  const table = parseCsv(text);
  if (table.length === 0) throw new AppError('RESULTS_IMPORT_INVALID', `${fileName} is empty: it needs a header row (accession or patientId, studyDate, test, result, date) and at least one result.`);
  if (table.length - 1 > CSV_MAX_ROWS) throw new AppError('RESULTS_IMPORT_INVALID', `${fileName} has ${table.length - 1} rows; at most ${CSV_MAX_ROWS} can be imported at once.`);
  const header = table[0].map((h) => COLUMN_NAMES[h.trim().toLowerCase().replace(/[\s-]+/g, '_')] ?? COLUMN_NAMES[h.trim().toLowerCase().replace(/[\s_-]+/g, '')] ?? null);
  const col = (name: string) => header.indexOf(name);
  const missing = ['test', 'result', 'date'].filter((c) => col(c) < 0);
  if (col('accession') < 0 && col('patientId') < 0) missing.unshift('accession or patientId');
  if (missing.length) {
    throw new AppError('RESULTS_IMPORT_INVALID', `${fileName}: the header row lacks ${missing.join(', ')} (it has: ${table[0].map((h) => h.trim() || '(empty)').join(', ')}). Columns: accession or patientId (+ studyDate), test, result, date, note.`);
  }
  const idx = caseIndex(db);
  const stored = new Map<string, string>(); // case|test|date → result, of live stored results
  const storedExact = new Set<string>();
  for (const r of db.prepare('SELECT case_ref, test, result, result_date FROM reference_results WHERE withdrawn_at IS NULL').all() as { case_ref: number; test: string; result: string; result_date: string }[]) {
    stored.set(`${r.case_ref}|${r.test}|${r.result_date}`, r.result);
    storedExact.add(`${r.case_ref}|${r.test}|${r.result_date}|${r.result}`);
  }
  const cell = (row: string[], name: string) => (col(name) >= 0 ? (row[col(name)] ?? '').trim() : '');
  const rows: PreviewRow[] = [];
  const seen = new Map<string, PreviewRow>(); // exact key in this file → first row
  const inFile = new Map<string, PreviewRow[]>(); // case|test|date → rows of this file
  table.slice(1).forEach((r, k) => {
    const line = k + 2;
    const base = { line, caseId: null as number | null, accession: cell(r, 'accession'), patientId: cell(r, 'patientId'), test: cell(r, 'test'), result: cell(r, 'result'), date: cell(r, 'date'), note: cell(r, 'note') };
    const push = (status: PreviewStatus, message: string, caseId: number | null = null) => rows.push({ ...base, caseId, status, message });
    if (r.length > table[0].length && r.slice(table[0].length).some((f) => f.trim())) return push('error', `the row has ${r.length} fields, the header ${table[0].length} (a separator inside an unquoted field?)`);
    const c = checkResult({ test: base.test, result: base.result, date: base.date, note: base.note }, now);
    if (!c.ok) return push('error', c.message);
    let caseId: number | null = null;
    if (base.accession) {
      const ids = idx.byAccession.get(base.accession) ?? [];
      if (ids.length > 1) return push('error', `accession ${base.accession} belongs to ${ids.length} cases; give patientId and studyDate instead`);
      if (ids.length === 1) caseId = ids[0];
      else if (!base.patientId) return push('unmatched', `no case has accession ${base.accession}`);
    }
    if (caseId === null) {
      if (!base.patientId) return push('error', 'the row names neither an accession nor a patientId');
      const cases = idx.byPatient.get(base.patientId) ?? [];
      const sd = cell(r, 'studyDate');
      if (sd) {
        const d = parseDate(sd);
        if (!d) return push('error', `studyDate "${sd}" is not a date (use YYYY-MM-DD)`);
        const match = cases.filter((x) => x.studyDate === d.replace(/-/g, ''));
        if (match.length > 1) return push('error', `patient ${base.patientId} has ${match.length} cases on ${d}; use the accession`);
        if (!match.length) return push('unmatched', cases.length ? `patient ${base.patientId} has no case on ${d}` : `no case of patient ${base.patientId}`);
        caseId = match[0].id;
      } else {
        if (cases.length > 1) return push('error', `patient ${base.patientId} has ${cases.length} cases; give the studyDate (or the accession)`);
        if (!cases.length) return push('unmatched', `no case of patient ${base.patientId}`);
        caseId = cases[0].id;
      }
    }
    const slot = `${caseId}|${c.test}|${c.date}`;
    const exact = `${slot}|${c.result}`;
    const norm = { ...base, test: c.test, result: c.result, date: c.date, note: c.note };
    if (storedExact.has(exact)) return rows.push({ ...norm, caseId, status: 'already_stored', message: `case ${caseId} already has ${c.test} ${c.result} on ${c.date}` });
    const storedOther = stored.get(slot);
    if (storedOther !== undefined) return rows.push({ ...norm, caseId, status: 'conflict', message: `case ${caseId} already has ${c.test} ${storedOther} on ${c.date}; withdraw it first if it was wrong` });
    const first = seen.get(exact);
    if (first) return rows.push({ ...norm, caseId, status: 'duplicate_in_file', message: `the same result as line ${first.line}` });
    const row: PreviewRow = { ...norm, caseId, status: 'new', message: '' };
    seen.set(exact, row);
    inFile.set(slot, [...(inFile.get(slot) ?? []), row]);
    rows.push(row);
  });
  // Rows of this file that give different results of one test on one date contradict each other.
  for (const group of inFile.values()) {
    if (group.length < 2) continue;
    for (const r of group) {
      r.status = 'conflict';
      r.message = `lines ${group.map((g) => g.line).join(', ')} give different ${r.test} results for case ${r.caseId} on ${r.date}`;
    }
  }
  const counts: Record<PreviewStatus, number> = { new: 0, already_stored: 0, duplicate_in_file: 0, conflict: 0, unmatched: 0, error: 0 };
  for (const r of rows) counts[r.status]++;
  const blockers: string[] = [];
  if (counts.error) blockers.push(`${counts.error} row${counts.error === 1 ? ' has an error' : 's have errors'}: correct the file`);
  if (counts.conflict) blockers.push(`${counts.conflict} row${counts.conflict === 1 ? ' conflicts' : 's conflict'} with stored results or with each other`);
  if (counts.unmatched && !opts.skipUnmatched) blockers.push(`${counts.unmatched} row${counts.unmatched === 1 ? ' matches' : 's match'} no case (import with "leave out unmatched rows" to skip ${counts.unmatched === 1 ? 'it' : 'them'})`);
  return { fileName, fileSha256: createHash('sha256').update(text).digest('hex'), rows, counts, canImport: blockers.length === 0, blockers };
}

export interface ImportOutcome {
  preview: ImportPreview;
  written: number;
  importId: number | null;
}

/** Import the new rows of a CSV file, all in one transaction, or nothing (RESULTS_IMPORT_INVALID with the reasons). */
export function importResultsCsv(db: Database, text: string, fileName: string, actor: ResultActor, opts: { skipUnmatched?: boolean; now?: string } = {}): ImportOutcome {
  const now = opts.now ?? new Date().toISOString();
  return db.transaction(() => {
    const preview = previewResultsCsv(db, text, fileName, { ...opts, now });
    if (!preview.canImport) throw new AppError('RESULTS_IMPORT_INVALID', `${fileName} was not imported, nothing was written: ${preview.blockers.join('; ')}.`);
    const fresh = preview.rows.filter((r) => r.status === 'new');
    if (!fresh.length) return { preview, written: 0, importId: null };
    const importId = Number(
      db
        .prepare('INSERT INTO reference_imports (file_name, file_sha256, rows_total, rows_written, imported_by, imported_by_ref, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(fileName.slice(0, 500), preview.fileSha256, preview.rows.length, fresh.length, actor.displayName || actor.username, actor.userId, now).lastInsertRowid,
    );
    const insert = db.prepare('INSERT INTO reference_results (case_ref, test, result, result_date, note, source, import_ref, entered_by, entered_by_ref, entered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of fresh) insert.run(r.caseId, r.test, r.result, r.date, r.note, 'csv', importId, actor.displayName || actor.username, actor.userId, now);
    appendAudit(db, {
      actor, action: 'results.import', target: { type: 'results_import', id: importId },
      details: { fileName: fileName.slice(0, 500), fileSha256: preview.fileSha256, written: fresh.length, counts: preview.counts, cases: [...new Set(fresh.map((r) => r.caseId))].length },
    }, now);
    return { preview, written: fresh.length, importId };
  }).immediate();
}
