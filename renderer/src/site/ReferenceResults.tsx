// The case's reference results, beside the report: the outcome of the person's TB work-up (Xpert, culture, smear,
// clinical diagnosis) with its date, who entered it and a note, and the truth the station's calibration takes from
// them. Radiologists and administrators enter results here; a wrong one is withdrawn (with a reason), never erased.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { call, errorMessage } from '../api';
import { REFERENCE_RESULTS, REFERENCE_TEST_NAMES, REFERENCE_TESTS, type CaseResultsView } from '../../../electron/contract/index';
import { useSession } from '../accounts/session';
import './site.css';

type Test = (typeof REFERENCE_TESTS)[number];

const TRUTH_WORDS: Record<CaseResultsView['truth']['status'], string> = {
  positive: 'TB-positive',
  negative: 'TB-negative',
  excluded: 'left out of calibration',
  none: 'no reference result',
};

function resultName(test: Test, value: string): string {
  return REFERENCE_RESULTS[test].find((r) => r.value === value)?.name ?? value;
}

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function ReferenceResults({ caseId }: { caseId: number }) {
  const { session } = useSession();
  const canEdit = session.user?.role === 'radiologist' || session.user?.role === 'administrator';
  const [state, setState] = useState<CaseResultsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({ test: 'xpert' as Test, result: 'detected', date: today(), note: '' });
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    call('site:results', { caseId })
      .then((r) => {
        setState(r);
        setError(null);
      })
      .catch((e) => setError(errorMessage(e)));
  }, [caseId]);
  useEffect(load, [load]);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      setState(await call('site:addResult', { caseId, test: form.test, result: form.result, date: form.date, note: form.note || undefined }));
      setForm({ ...form, note: '' });
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const withdraw = async (id: number) => {
    const reason = window.prompt('Why is this result withdrawn? (It stays in the record, marked withdrawn.)');
    if (!reason) return;
    try {
      setState(await call('site:withdrawResult', { resultId: id, reason }));
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <section className="reference-results" data-testid="reference-results" aria-label="Reference results">
      <h3>Reference results</h3>
      {state && (
        <p className={`truth truth-${state.truth.status}`} data-testid="reference-truth" data-status={state.truth.status}>
          {TRUTH_WORDS[state.truth.status]}
          {state.truth.status !== 'none' ? ` — ${state.truth.reason}` : ''}
        </p>
      )}
      {state && state.results.length > 0 && (
        <ul className="reference-list">
          {state.results.map((r) => (
            <li key={r.id} data-testid="reference-result" className={r.withdrawn ? 'withdrawn' : ''}>
              <span>
                {REFERENCE_TEST_NAMES[r.test]}: <strong>{resultName(r.test, r.result)}</strong> on {r.date}
              </span>
              <span className="setup-dim">
                {' '}
                · {r.enteredBy}
                {r.source === 'csv' ? ' (imported)' : ''}
                {r.note ? ` · ${r.note}` : ''}
                {r.withdrawn ? ` · withdrawn by ${r.withdrawn.by}: ${r.withdrawn.reason}` : ''}
              </span>
              {canEdit && !r.withdrawn && (
                <button type="button" className="btn btn-small" onClick={() => void withdraw(r.id)} data-testid="reference-withdraw">
                  Withdraw
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {canEdit && (
        <form className="reference-form" onSubmit={(e) => void add(e)} data-testid="reference-form">
          <select
            className="input"
            aria-label="Test"
            value={form.test}
            onChange={(e) => {
              const test = e.target.value as Test;
              setForm({ ...form, test, result: REFERENCE_RESULTS[test][0].value });
            }}
            data-testid="reference-test"
          >
            {REFERENCE_TESTS.map((t) => (
              <option key={t} value={t}>
                {REFERENCE_TEST_NAMES[t]}
              </option>
            ))}
          </select>
          <select className="input" aria-label="Result" value={form.result} onChange={(e) => setForm({ ...form, result: e.target.value })} data-testid="reference-result-value">
            {REFERENCE_RESULTS[form.test].map((r) => (
              <option key={r.value} value={r.value}>
                {r.name}
              </option>
            ))}
          </select>
          <input className="input" type="date" aria-label="Date of the result" value={form.date} max={today()} onChange={(e) => setForm({ ...form, date: e.target.value })} data-testid="reference-date" required />
          <input className="input" aria-label="Note" placeholder="Note (optional)" maxLength={2000} value={form.note} onChange={(e) => setForm({ ...form, note: e.target.value })} data-testid="reference-note" />
          <button type="submit" className="btn btn-small" disabled={busy} data-testid="reference-add">
            Add result
          </button>
        </form>
      )}
      {error && (
        <p className="signoff-error" role="alert" data-testid="reference-error">
          {error}
        </p>
      )}
    </section>
  );
}
