// Reference results: one at a time (validated, audited, withdrawn rather than deleted) and from CSV files, whose
// preview sorts every row and whose import writes all new rows or nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors';
import { listAudit, verifyAudit } from '../accounts/audit';
import { addResult, caseResults, importResultsCsv, parseCsv, previewResultsCsv, withdrawResult } from './results';
import { siteStore } from '../../testing/site';

const who = { userId: null, username: 'dr.test', displayName: 'Dr Test' };
const NOW = '2026-03-01T10:00:00Z';

function store3() {
  // cases 1-3 (accessions ACC1-ACC3, patients P1-P3, study date 2026-01-15), no results yet
  return siteStore({ positives: 2, negatives: 1, results: false });
}

const count = (db: import('better-sqlite3').Database) => db.prepare('SELECT count(*) FROM reference_results').pluck().get() as number;

test('a result entered for a case is checked, stored with who and when, audited, and withdrawn (never deleted)', () => {
  const { store, cases } = store3();
  const c = cases[0].caseId;
  const r = addResult(store.db, c, { test: 'xpert', result: 'trace', date: '2026-01-20', note: 'sputum 1' }, who, 'viewer', NOW);
  assert.equal(r.enteredBy, 'Dr Test');
  assert.equal(caseResults(store.db, c).truth.status, 'positive');
  assert.throws(() => addResult(store.db, c, { test: 'xpert', result: 'positive-ish', date: '2026-01-20' }, who, 'viewer', NOW), (e: AppError) => e.code === 'BAD_REQUEST' && /not a xpert result/.test(e.message));
  assert.throws(() => addResult(store.db, c, { test: 'xpert', result: 'detected', date: '2026-02-30' }, who, 'viewer', NOW), /not a date/);
  assert.throws(() => addResult(store.db, c, { test: 'xpert', result: 'detected', date: '2027-01-01' }, who, 'viewer', NOW), /in the future/);
  assert.throws(() => addResult(store.db, 9999, { test: 'xpert', result: 'detected', date: '2026-01-01' }, who, 'viewer', NOW), (e: AppError) => e.code === 'NOT_FOUND');
  withdrawResult(store.db, r.id, 'entered on the wrong patient', who, NOW);
  const after = caseResults(store.db, c);
  assert.equal(after.results.length, 1);
  assert.equal(after.results[0].withdrawn?.reason, 'entered on the wrong patient');
  assert.equal(after.truth.status, 'none');
  assert.throws(() => withdrawResult(store.db, r.id, 'again', who, NOW), /already withdrawn/);
  assert.throws(() => store.db.prepare('DELETE FROM reference_results').run(), /RESULTS_APPEND_ONLY/);
  assert.throws(() => store.db.prepare("UPDATE reference_results SET result = 'detected'").run(), /RESULTS_APPEND_ONLY/);
  assert.deepEqual(listAudit(store.db, { targetType: 'case', targetId: c }).map((e) => e.action), ['results.withdraw', 'results.add']);
  assert.equal(verifyAudit(store.db).ok, true);
});

test('CSV parsing: quotes, separators inside quotes, CRLF, a BOM, semicolons', () => {
  assert.deepEqual(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n'), [['a', 'b'], ['x, y', 'say "hi"']]);
  assert.deepEqual(parseCsv('a;b\n1;2\n\n'), [['a', 'b'], ['1', '2']]);
  assert.throws(() => parseCsv('a,b\n"open,2\n'), (e: AppError) => e.code === 'RESULTS_IMPORT_INVALID');
});

test('CSV preview: matched by accession or patient and study date; unknown accessions, bad rows and dates each explained', () => {
  const { store, cases } = store3();
  const csv = [
    'accession,patientId,studyDate,test,result,date,note',
    'ACC1,,,Xpert MTB/RIF,MTB detected,2026-01-20,"first, sputum"',
    ',P2,2026-01-15,culture,negative,2026-02-01,',
    ',P3,,smear,scanty,2026-01-21,',
    'ACC404,,,xpert,detected,2026-01-20,',
    ',P2,2025-12-01,xpert,detected,2026-01-20,',
    'ACC1,,,x-ray,abnormal,2026-01-20,',
    'ACC2,,,xpert,detected,2026-02-30,',
    'ACC2,,,xpert,detected,31/01/2026,',
    ',,,xpert,detected,2026-01-20,',
    'ACC3,,,culture,scanty,2026-01-20,',
  ].join('\n');
  const p = previewResultsCsv(store.db, csv, 'lab.csv', { now: NOW });
  assert.deepEqual(p.rows.map((r) => [r.line, r.status, r.caseId]), [
    [2, 'new', cases[0].caseId], [3, 'new', cases[1].caseId], [4, 'new', cases[2].caseId], [5, 'unmatched', null], [6, 'unmatched', null],
    [7, 'error', null], [8, 'error', null], [9, 'error', null], [10, 'error', null], [11, 'error', null],
  ]);
  assert.match(p.rows[3].message, /no case has accession ACC404/);
  assert.match(p.rows[4].message, /patient P2 has no case on 2025-12-01/);
  assert.match(p.rows[5].message, /unknown test "x-ray"/);
  assert.match(p.rows[6].message, /"2026-02-30" is not a date/);
  assert.match(p.rows[7].message, /"31\/01\/2026" is not a date/);
  assert.match(p.rows[8].message, /neither an accession nor a patientId/);
  assert.match(p.rows[9].message, /"scanty" is not a culture result/);
  assert.equal(p.rows[0].note, 'first, sputum');
  assert.equal(p.canImport, false);
  assert.equal(p.blockers.length, 2);
  assert.equal(count(store.db), 0, 'a preview writes nothing');
});

test('CSV import: nothing is written while a row is bad; unmatched rows are left out only when asked; a second import writes nothing', () => {
  const { store, cases } = store3();
  const good = ['accession,test,result,date', 'ACC1,xpert,detected,2026-01-20', 'ACC2,xpert,not detected,2026-01-20'];
  assert.throws(() => importResultsCsv(store.db, [...good, 'ACC3,xpert,detected,2026-13-01'].join('\n'), 'bad.csv', who, { now: NOW }), (e: AppError) => e.code === 'RESULTS_IMPORT_INVALID' && /nothing was written: 1 row has an error/.test(e.message));
  assert.equal(count(store.db), 0);
  const withUnknown = [...good, 'ACC404,xpert,detected,2026-01-20'].join('\n');
  assert.throws(() => importResultsCsv(store.db, withUnknown, 'lab.csv', who, { now: NOW }), /1 row matches no case/);
  assert.equal(count(store.db), 0);
  const first = importResultsCsv(store.db, withUnknown, 'lab.csv', who, { skipUnmatched: true, now: NOW });
  assert.equal(first.written, 2);
  assert.equal(caseResults(store.db, cases[0].caseId).truth.status, 'positive');
  assert.equal(caseResults(store.db, cases[1].caseId).truth.status, 'negative');
  const again = importResultsCsv(store.db, withUnknown, 'lab.csv', who, { skipUnmatched: true, now: NOW });
  assert.equal(again.written, 0);
  assert.equal(again.preview.counts.already_stored, 2);
  assert.equal(count(store.db), 2);
  const audit = listAudit(store.db, { targetType: 'results_import' });
  assert.equal(audit.length, 1);
  assert.equal(audit[0].details.written, 2);
  assert.equal(store.db.prepare('SELECT count(*) FROM reference_results WHERE import_ref IS NOT NULL').pluck().get(), 2);
});

test('CSV import: duplicates in the file are written once; conflicts with stored results or within the file block the import', () => {
  const { store, cases } = store3();
  addResult(store.db, cases[2].caseId, { test: 'xpert', result: 'not_detected', date: '2026-01-20' }, who, 'viewer', NOW);
  const dup = importResultsCsv(store.db, ['accession,test,result,date', 'ACC1,xpert,detected,2026-01-20', 'ACC1,Xpert,MTB detected,20260120'].join('\n'), 'dup.csv', who, { now: NOW });
  assert.equal(dup.written, 1);
  assert.deepEqual(dup.preview.rows.map((r) => r.status), ['new', 'duplicate_in_file']);
  const stored = previewResultsCsv(store.db, ['accession,test,result,date', 'ACC3,xpert,detected,2026-01-20'].join('\n'), 'c.csv', { now: NOW });
  assert.equal(stored.rows[0].status, 'conflict');
  assert.match(stored.rows[0].message, /already has xpert not_detected on 2026-01-20; withdraw it first/);
  const inFile = previewResultsCsv(store.db, ['accession,test,result,date', 'ACC2,culture,positive,2026-02-01', 'ACC2,culture,negative,2026-02-01'].join('\n'), 'c2.csv', { now: NOW });
  assert.deepEqual(inFile.rows.map((r) => r.status), ['conflict', 'conflict']);
  assert.match(inFile.rows[0].message, /lines 2, 3 give different culture results/);
  assert.equal(inFile.canImport, false);
});

test('CSV import: a patient with several cases needs the study date; a missing column is named', () => {
  const { store } = store3();
  // a second case of patient P1 on another day
  store.db.prepare("INSERT INTO studies (study_instance_uid, patient_ref, study_date, imported_at, patient_name, patient_id, search_text) SELECT '1.9.77', patient_ref, '20260301', imported_at, patient_name, patient_id, search_text FROM studies WHERE id = 1").run();
  const p = previewResultsCsv(store.db, ['patientId,studyDate,test,result,date', 'P1,,xpert,detected,2026-01-20', 'P1,2026-03-01,xpert,detected,2026-03-02'].join('\n'), 'p.csv', { now: '2026-03-05T00:00:00Z' });
  assert.equal(p.rows[0].status, 'error');
  assert.match(p.rows[0].message, /patient P1 has 2 cases; give the studyDate/);
  assert.equal(p.rows[1].status, 'new');
  assert.throws(() => previewResultsCsv(store.db, 'accession,test,date\nACC1,xpert,2026-01-01', 'x.csv'), (e: AppError) => e.code === 'RESULTS_IMPORT_INVALID' && /lacks result/.test(e.message));
  assert.throws(() => previewResultsCsv(store.db, '', 'x.csv'), /is empty/);
});
