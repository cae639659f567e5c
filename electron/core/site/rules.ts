// Reference results (the bacteriological or clinical outcome of a person's TB work-up) and the rule that turns a
// case's results into the truth a calibration uses: TB-positive, TB-negative, or left out.
//
// The rule, in order:
//   1. Each result reads as positive, negative or no information: Xpert MTB/RIF detected or trace → positive, not
//      detected → negative, invalid → no information; culture positive → positive, negative → negative,
//      contaminated → no information; smear positive or scanty → positive, negative → negative; clinical diagnosis
//      TB → positive, not TB → negative. Withdrawn results do not count.
//   2. The most authoritative test present decides: culture, then Xpert, then smear, then clinical diagnosis. So a
//      culture overrides a smear (or an Xpert) whatever their dates, and a smear never overrides an Xpert.
//   3. Within that test, the latest result (by result date) decides; results of the same date that disagree leave
//      the case out as conflicting.
//   4. A case with no informative result is not a calibration case.

export const TESTS = ['xpert', 'culture', 'smear', 'clinical'] as const;
export type ReferenceTest = (typeof TESTS)[number];

export const RESULTS: Record<ReferenceTest, readonly string[]> = {
  xpert: ['detected', 'trace', 'not_detected', 'invalid'],
  culture: ['positive', 'negative', 'contaminated'],
  smear: ['positive', 'scanty', 'negative'],
  clinical: ['tb', 'not_tb'],
};

export const TEST_NAMES: Record<ReferenceTest, string> = {
  xpert: 'Xpert MTB/RIF',
  culture: 'Culture',
  smear: 'Smear microscopy',
  clinical: 'Clinical diagnosis',
};

export const RESULT_NAMES: Record<string, string> = {
  detected: 'MTB detected',
  trace: 'MTB detected, trace',
  not_detected: 'MTB not detected',
  invalid: 'Invalid / error / no result',
  positive: 'Positive',
  negative: 'Negative',
  contaminated: 'Contaminated',
  scanty: 'Scanty (positive)',
  tb: 'TB',
  not_tb: 'Not TB',
};

/** Higher decides: culture over Xpert over smear over a clinical diagnosis. */
const AUTHORITY: Record<ReferenceTest, number> = { culture: 3, xpert: 2, smear: 1, clinical: 0 };

export type Reading = 'positive' | 'negative' | 'none';

/** What one result says about TB (step 1 of the rule). */
export function readResult(test: ReferenceTest, result: string): Reading {
  switch (test) {
    case 'xpert':
      return result === 'detected' || result === 'trace' ? 'positive' : result === 'not_detected' ? 'negative' : 'none';
    case 'culture':
      return result === 'positive' ? 'positive' : result === 'negative' ? 'negative' : 'none';
    case 'smear':
      return result === 'positive' || result === 'scanty' ? 'positive' : result === 'negative' ? 'negative' : 'none';
    case 'clinical':
      return result === 'tb' ? 'positive' : result === 'not_tb' ? 'negative' : 'none';
  }
}

export interface ResultForRule {
  id: number;
  test: ReferenceTest;
  result: string;
  /** YYYY-MM-DD */
  date: string;
  withdrawn?: boolean;
}

export interface CaseTruth {
  status: 'positive' | 'negative' | 'excluded' | 'none';
  /** the result that decided (positive/negative), or null */
  decidedBy: number | null;
  /** in words, for the viewer and the calibration view */
  reason: string;
}

/** The truth a calibration takes from a case's reference results (steps 2 to 4 of the rule). */
export function caseTruth(results: readonly ResultForRule[]): CaseTruth {
  const live = results.filter((r) => !r.withdrawn);
  if (!live.length) return { status: 'none', decidedBy: null, reason: 'no reference result' };
  const informative = live.map((r) => ({ ...r, reading: readResult(r.test, r.result) })).filter((r) => r.reading !== 'none');
  if (!informative.length) return { status: 'excluded', decidedBy: null, reason: 'no informative result (invalid or contaminated only)' };
  const top = Math.max(...informative.map((r) => AUTHORITY[r.test]));
  const decisive = informative.filter((r) => AUTHORITY[r.test] === top);
  const latest = decisive.reduce((d, r) => (r.date > d ? r.date : d), '');
  const onLatest = decisive.filter((r) => r.date === latest);
  const readings = new Set(onLatest.map((r) => r.reading));
  const name = TEST_NAMES[decisive[0].test];
  if (readings.size > 1) return { status: 'excluded', decidedBy: null, reason: `conflicting ${name} results on ${latest}` };
  const winner = onLatest.reduce((a, b) => (b.id > a.id ? b : a));
  const overridden = informative.filter((r) => AUTHORITY[r.test] < top).length;
  const others = overridden ? ` (overrides ${overridden} result${overridden === 1 ? '' : 's'} of a less authoritative test)` : '';
  return { status: winner.reading as 'positive' | 'negative', decidedBy: winner.id, reason: `${name} ${RESULT_NAMES[winner.result] ?? winner.result} on ${winner.date}${others}` };
}

function norm(s: string): string {
  return s.trim().toLowerCase().replace(/[\s\-/]+/g, '_').replace(/[^a-z0-9_]/g, '');
}

const TEST_SYNONYMS: Record<string, ReferenceTest> = {
  xpert: 'xpert', xpert_mtb_rif: 'xpert', xpert_mtbrif: 'xpert', genexpert: 'xpert', xpert_ultra: 'xpert', ultra: 'xpert',
  culture: 'culture', mgit: 'culture', lj: 'culture', lj_culture: 'culture', mgit_culture: 'culture',
  smear: 'smear', afb: 'smear', afb_smear: 'smear', microscopy: 'smear', smear_microscopy: 'smear',
  clinical: 'clinical', clinical_diagnosis: 'clinical', clinician: 'clinical',
};

const RESULT_SYNONYMS: Record<ReferenceTest, Record<string, string>> = {
  xpert: { detected: 'detected', mtb_detected: 'detected', positive: 'detected', trace: 'trace', mtb_detected_trace: 'trace', trace_detected: 'trace', not_detected: 'not_detected', mtb_not_detected: 'not_detected', negative: 'not_detected', invalid: 'invalid', error: 'invalid', no_result: 'invalid' },
  culture: { positive: 'positive', pos: 'positive', negative: 'negative', neg: 'negative', contaminated: 'contaminated' },
  smear: { positive: 'positive', pos: 'positive', scanty: 'scanty', negative: 'negative', neg: 'negative' },
  clinical: { tb: 'tb', positive: 'tb', not_tb: 'not_tb', no_tb: 'not_tb', negative: 'not_tb' },
};

/** The test a CSV cell or a form names, or null. */
export function parseTest(text: string): ReferenceTest | null {
  return TEST_SYNONYMS[norm(text)] ?? null;
}

/** The result value of `test` a CSV cell or a form names, or null. */
export function parseResult(test: ReferenceTest, text: string): string | null {
  return RESULT_SYNONYMS[test][norm(text)] ?? null;
}

/** A calendar date as YYYY-MM-DD from YYYY-MM-DD or YYYYMMDD, or null when it is not a real date. */
export function parseDate(text: string): string | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d || y < 1900) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}
