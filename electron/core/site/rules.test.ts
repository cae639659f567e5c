// The rule that turns a case's reference results into the truth a calibration uses, and the parsing of what a form
// or a CSV cell says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseTruth, parseDate, parseResult, parseTest, readResult } from './rules';

let id = 0;
const r = (test: 'xpert' | 'culture' | 'smear' | 'clinical', result: string, date: string, withdrawn = false) => ({ id: ++id, test, result, date, withdrawn });

test('each result reads as positive, negative or no information (trace positive, invalid and contaminated none)', () => {
  assert.equal(readResult('xpert', 'detected'), 'positive');
  assert.equal(readResult('xpert', 'trace'), 'positive');
  assert.equal(readResult('xpert', 'not_detected'), 'negative');
  assert.equal(readResult('xpert', 'invalid'), 'none');
  assert.equal(readResult('culture', 'contaminated'), 'none');
  assert.equal(readResult('smear', 'scanty'), 'positive');
  assert.equal(readResult('clinical', 'not_tb'), 'negative');
});

test('Xpert trace counts as TB-positive; an invalid Xpert alone leaves the case out', () => {
  assert.equal(caseTruth([r('xpert', 'trace', '2026-01-02')]).status, 'positive');
  const invalid = caseTruth([r('xpert', 'invalid', '2026-01-02')]);
  assert.equal(invalid.status, 'excluded');
  assert.match(invalid.reason, /invalid/);
  // an invalid run followed by a valid one: the valid one decides
  assert.equal(caseTruth([r('xpert', 'invalid', '2026-01-02'), r('xpert', 'not_detected', '2026-01-05')]).status, 'negative');
  assert.equal(caseTruth([]).status, 'none');
});

test('a later culture overrides an earlier smear; culture decides whatever the dates; a smear never overrides an Xpert', () => {
  const later = caseTruth([r('smear', 'positive', '2026-01-02'), r('culture', 'negative', '2026-02-10')]);
  assert.equal(later.status, 'negative');
  assert.match(later.reason, /Culture Negative on 2026-02-10 \(overrides 1 result/);
  assert.equal(caseTruth([r('culture', 'positive', '2026-01-02'), r('smear', 'negative', '2026-02-10')]).status, 'positive');
  assert.equal(caseTruth([r('xpert', 'detected', '2026-01-02'), r('smear', 'negative', '2026-01-09')]).status, 'positive');
  assert.equal(caseTruth([r('clinical', 'tb', '2026-01-09'), r('xpert', 'not_detected', '2026-01-02')]).status, 'negative');
});

test('within one test the latest result decides; same-date disagreement leaves the case out; withdrawn results do not count', () => {
  assert.equal(caseTruth([r('xpert', 'not_detected', '2026-01-02'), r('xpert', 'detected', '2026-03-01')]).status, 'positive');
  const conflict = caseTruth([r('xpert', 'not_detected', '2026-01-02'), r('xpert', 'detected', '2026-01-02')]);
  assert.equal(conflict.status, 'excluded');
  assert.match(conflict.reason, /conflicting Xpert MTB\/RIF results on 2026-01-02/);
  assert.equal(caseTruth([r('culture', 'positive', '2026-01-02', true), r('smear', 'negative', '2026-01-02')]).status, 'negative');
  assert.equal(caseTruth([r('culture', 'positive', '2026-01-02', true)]).status, 'none');
});

test('tests, results and dates as forms and CSV files write them', () => {
  assert.equal(parseTest('Xpert MTB/RIF'), 'xpert');
  assert.equal(parseTest('GeneXpert'), 'xpert');
  assert.equal(parseTest('AFB smear'), 'smear');
  assert.equal(parseTest('x-ray'), null);
  assert.equal(parseResult('xpert', 'MTB detected'), 'detected');
  assert.equal(parseResult('xpert', 'Not detected'), 'not_detected');
  assert.equal(parseResult('xpert', 'trace'), 'trace');
  assert.equal(parseResult('culture', 'scanty'), null);
  assert.equal(parseDate('2026-01-31'), '2026-01-31');
  assert.equal(parseDate('20260131'), '2026-01-31');
  assert.equal(parseDate('2026-02-30'), null);
  assert.equal(parseDate('31/01/2026'), null);
  assert.equal(parseDate('2026-1-5'), null);
});
