// The site calibration view (administrators and lead radiologists): the current model on this station's confirmed
// cases as an ROC curve with its AUC and interval and a threshold table; choosing the operating point makes a new
// site threshold version (one click back to the pack's default; the history is kept); reference results imported
// from a CSV file after a preview; the site head (fitted, judged against the pack's own score, activated only when
// the intervals support it); and the months' flag rates and scores against the calibration cases (drift).
import { useCallback, useEffect, useState } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { CalibrationVersionView, CalibrationView, DriftView, HeadView, ImportPreviewView, RescoreProgressView, SiteStatusView } from '../../../electron/contract/index';
import { RocPlot, type PlotPoint } from './RocPlot';
import './site.css';

type Tab = 'calibration' | 'import' | 'head' | 'history' | 'drift';

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(0)} %`);
const num = (v: number | null, d = 2) => (v === null ? '—' : v.toFixed(d));

function Interval({ v }: { v: { value: number; low: number; high: number } | null }) {
  if (!v) return <>—</>;
  return (
    <>
      {v.value.toFixed(3)} (95 % interval {v.low.toFixed(3)}–{v.high.toFixed(3)})
    </>
  );
}

/** Counts and rates at any threshold, read off the scorer's ROC points (the last point whose threshold is ≥ t). */
function operatingPoint(report: CalibrationView, t: number): { threshold: number; tp: number; fp: number; tn: number; fn: number; sensitivity: number | null; specificity: number | null } {
  const roc = (report.site ?? report.base).roc;
  let at = roc[0];
  for (const p of roc) if (p.threshold === null || p.threshold >= t) at = p;
  const P = report.counts.positive;
  const N = report.counts.negative;
  return { threshold: t, tp: at.tp, fp: at.fp, tn: N - at.fp, fn: P - at.tp, sensitivity: P ? at.tp / P : null, specificity: N ? (N - at.fp) / N : null };
}

export function SiteCalibration(props: { onClose: () => void }) {
  const [tab, setTab] = useState<Tab>('calibration');
  const [status, setStatus] = useState<SiteStatusView | null>(null);
  const [report, setReport] = useState<CalibrationView | null>(null);
  const [history, setHistory] = useState<CalibrationVersionView[]>([]);
  const [heads, setHeads] = useState<HeadView[]>([]);
  const [drift, setDrift] = useState<DriftView | null>(null);
  const [rescore, setRescore] = useState<RescoreProgressView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [candidate, setCandidate] = useState('');

  const load = useCallback(() => {
    Promise.all([call('site:status', {}), call('site:calibration', {}), call('site:history', {}), call('site:heads', {}), call('site:drift', {})])
      .then(([s, r, h, hd, d]) => {
        setStatus(s);
        setRescore(s.rescore);
        setReport(r);
        setHistory(h.versions);
        setHeads(hd.heads);
        setDrift(d);
      })
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    const offR = onEvent('site:onRescore', (p) => setRescore(p));
    const offC = onEvent('site:onChanged', () => load());
    const key = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose();
    window.addEventListener('keydown', key);
    return () => {
      offR();
      offC();
      window.removeEventListener('keydown', key);
    };
  }, [load, props]);

  const act = async (what: string, action: () => Promise<string>) => {
    setBusy(what);
    setError(null);
    setNote(null);
    try {
      setNote(await action());
      load();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const inForce = status?.threshold ?? report?.inForce ?? null;
  const candidateValue = candidate.trim() === '' ? null : Number(candidate);
  const candidateRow = report && candidateValue !== null && Number.isFinite(candidateValue) ? operatingPoint(report, candidateValue) : null;
  const inForceRow = report?.table.find((r) => r.marks.includes('in force')) ?? null;
  const points: PlotPoint[] = [];
  if (inForceRow && inForceRow.sensitivity !== null && inForceRow.specificity !== null) points.push({ label: `in force: ${inForceRow.threshold}`, sensitivity: inForceRow.sensitivity, specificity: inForceRow.specificity, kind: 'in-force' });
  if (candidateRow && candidateRow.sensitivity !== null && candidateRow.specificity !== null) points.push({ label: `threshold ${candidateRow.threshold}`, sensitivity: candidateRow.sensitivity, specificity: candidateRow.specificity, kind: 'candidate' });

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div className="modal site-modal" role="dialog" aria-modal="true" aria-labelledby="site-title" data-testid="site-dialog">
        <div className="modal-head">
          <h2 id="site-title">Site calibration</h2>
          <span className="toolbar-spacer" />
          <button type="button" className="btn btn-small" onClick={props.onClose} data-testid="site-close">
            Close
          </button>
        </div>
        {inForce && (
          <div className="site-in-force" data-testid="site-in-force" data-source={inForce.source}>
            In force for {inForce.pack.name} {inForce.pack.version}: flag at {inForce.headId !== null ? `site head ${inForce.headId}'s score` : "the model's own TB score"} ≥ <strong>{inForce.value.toFixed(2)}</strong> ({inForce.label}
            {inForce.setBy ? `, set by ${inForce.setBy} at ${new Date(inForce.setAt!).toLocaleString()}` : ''}; pack default {inForce.packDefault.toFixed(2)})
            {inForce.source === 'site' && (
              <button type="button" className="btn btn-small" disabled={busy !== null} data-testid="site-rollback" onClick={() => void act('rollback', async () => {
                const r = await call('site:rollback', {});
                return r.version ? `Back to the pack default (version ${r.version.version}).` : 'The pack default was already in force.';
              })}>
                Back to the pack default
              </button>
            )}
          </div>
        )}
        {rescore && rescore.state === 'running' && (
          <div className="site-rescore" data-testid="site-rescore" role="status">
            Re-scoring the worklist: {rescore.done} of {rescore.total} cases
            <progress max={rescore.total} value={rescore.done} />
          </div>
        )}
        {rescore?.error && (
          <p className="site-warning" role="alert">
            The worklist could not be re-scored: {rescore.error}
          </p>
        )}
        {error && (
          <p className="signoff-error" role="alert" data-testid="site-error">
            {error}
          </p>
        )}
        {note && (
          <p className="signoff-note" data-testid="site-note">
            {note}
          </p>
        )}
        <div className="settings-tabs" role="tablist">
          {(
            [
              ['calibration', 'Threshold'],
              ['import', 'Import results'],
              ['head', 'Site head'],
              ['history', 'History'],
              ['drift', 'Drift'],
            ] as [Tab, string][]
          ).map(([t, label]) => (
            <button key={t} type="button" role="tab" className="settings-tab" aria-selected={tab === t} onClick={() => setTab(t)} data-testid={`site-tab-${t}`}>
              {label}
            </button>
          ))}
        </div>
        <div role="tabpanel">
          {tab === 'calibration' && report && (
            <div className="site-calibration" data-testid="site-calibration">
              <p data-testid="site-counts">
                {report.counts.positive} TB-positive and {report.counts.negative} TB-negative confirmed cases read by {report.pack.name} {report.pack.version}
                {report.counts.excluded ? `; ${report.counts.excluded} left out by the rule (invalid only, or conflicting)` : ''}. Scores: {report.scorer.label}.
              </p>
              {report.warnings.map((w) => (
                <p key={w} className="site-warning" data-testid="site-warning">
                  ⚠ {w}
                </p>
              ))}
              <div className="site-cols">
                <div>
                  <RocPlot base={report.base.roc} site={report.site?.roc ?? null} who={report.whoTriage} points={points} />
                  <p className="setup-dim">
                    <span className="legend legend-base" /> the model's own score{report.site ? <><span className="legend legend-site" /> site head</> : null}
                  </p>
                </div>
                <div className="site-side">
                  <p data-testid="site-auc">
                    AUC <Interval v={report.site?.auc ?? report.base.auc} />
                    {report.aucIntervalWidth !== null ? `; interval width ${report.aucIntervalWidth.toFixed(2)}` : ''}
                  </p>
                  {report.site && (
                    <p className="setup-dim">
                      The model's own AUC on the same cases: <Interval v={report.base.auc} />
                    </p>
                  )}
                  <h3>Operating point</h3>
                  <form
                    className="modal-form"
                    onSubmit={(e) => {
                      e.preventDefault();
                      if (candidateValue === null) return;
                      void act('threshold', async () => {
                        const v = await call('site:setThreshold', { choice: { threshold: candidateValue } });
                        return `Site threshold ${v.threshold} in force (version ${v.version}).`;
                      });
                    }}
                  >
                    <label>
                      Threshold (TB score, 0–100)
                      <input className="input" type="number" min={0} max={100} step="any" value={candidate} onChange={(e) => setCandidate(e.target.value)} data-testid="site-threshold-input" />
                    </label>
                    <button type="submit" className="btn btn-primary" disabled={busy !== null || candidateValue === null} data-testid="site-set-threshold">
                      Make it the site threshold
                    </button>
                  </form>
                  <button type="button" className="btn" disabled={busy !== null || report.sensitivity90 === null} data-testid="site-set-sens90" onClick={() => void act('sensitivity', async () => {
                    const v = await call('site:setThreshold', { choice: { sensitivity: 0.9 } });
                    return `Site threshold ${v.threshold} in force (version ${v.version}): ${v.rule}.`;
                  })}>
                    Use the threshold that gives ≥ 90 % sensitivity{report.sensitivity90 !== null ? ` (${report.sensitivity90.toFixed(2)})` : ''}
                  </button>
                  {candidateRow && (
                    <p className="setup-dim" data-testid="site-candidate">
                      At {candidateRow.threshold}: sensitivity {pct(candidateRow.sensitivity)} ({candidateRow.tp}/{candidateRow.tp + candidateRow.fn}), specificity {pct(candidateRow.specificity)} ({candidateRow.tn}/{candidateRow.tn + candidateRow.fp})
                    </p>
                  )}
                </div>
              </div>
              <h3>Threshold table</h3>
              <p className="setup-dim">Click a row to consider its threshold. Flagged per 100: of the confirmed cases, and of every case this station has scored ({report.stationCases}).</p>
              <table className="site-table" data-testid="site-table">
                <thead>
                  <tr>
                    <th>Threshold</th>
                    <th>Sensitivity</th>
                    <th>Specificity</th>
                    <th>PPV</th>
                    <th>NPV</th>
                    <th>Flagged / 100 (confirmed · station)</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {report.table.map((r) => (
                    <tr key={r.threshold} data-testid="site-table-row" className={r.marks.length ? 'marked' : ''} onClick={() => setCandidate(String(r.threshold))}>
                      <td>{r.threshold}</td>
                      <td>
                        {pct(r.sensitivity)} <span className="setup-dim">{r.tp}/{r.tp + r.fn}</span>
                      </td>
                      <td>
                        {pct(r.specificity)} <span className="setup-dim">{r.tn}/{r.tn + r.fp}</span>
                      </td>
                      <td>
                        {pct(r.ppv)} <span className="setup-dim">{r.tp}/{r.tp + r.fp}</span>
                      </td>
                      <td>
                        {pct(r.npv)} <span className="setup-dim">{r.tn}/{r.tn + r.fn}</span>
                      </td>
                      <td>
                        {num(r.flaggedPer100, 1)} · {num(r.flaggedPer100Station, 1)}
                      </td>
                      <td className="setup-dim">{r.marks.join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {tab === 'import' && <ImportResults onImported={load} />}
          {tab === 'head' && (
            <div data-testid="site-heads">
              <p className="setup-dim">
                A site head is a logistic regression over the model's lung-pooled features and its TB logit, fitted on this station's confirmed cases (at least 40, with 10 of each kind). It is judged by cross-validation against the model's own score on the same cases, and can be activated only when the 95 % interval of its AUC gain lies above zero.
              </p>
              <button type="button" className="btn btn-primary" disabled={busy !== null} data-testid="site-fit" onClick={() => void act('fit', async () => {
                const h = await call('site:fitHead', {});
                return `Site head ${h.id} fitted: ${h.verdict}.`;
              })}>
                {busy === 'fit' ? 'Fitting…' : 'Fit a site head'}
              </button>
              {heads.map((h) => (
                <div key={h.id} className="site-head" data-testid="site-head" data-eligible={h.eligible ? 'true' : 'false'}>
                  <h3>
                    Site head {h.id}
                    {h.active ? ' — in force' : ''}
                    {!h.currentPack ? ` — belongs to another model (${h.pack.name} ${h.pack.version})` : ''}
                  </h3>
                  <p>
                    {h.nPositive} TB-positive, {h.nNegative} TB-negative; λ {h.lambda}, {h.folds}-fold; fitted by {h.fittedBy} at {new Date(h.fittedAt).toLocaleString()}
                  </p>
                  <p>
                    Cross-validated AUC <Interval v={h.site} />; the model's own <Interval v={h.base} />; gain {h.gain.value >= 0 ? '+' : ''}
                    {h.gain.value.toFixed(3)} ({h.gain.low.toFixed(3)} to {h.gain.high.toFixed(3)})
                  </p>
                  <p className={h.eligible ? 'signoff-note' : 'site-warning'}>{h.verdict}</p>
                  {h.currentPack && h.eligible && !h.active && (
                    <button type="button" className="btn" disabled={busy !== null} data-testid={`site-activate-${h.id}`} onClick={() => void act('activate', async () => {
                      const v = await call('site:activateHead', { headId: h.id });
                      return `Site head ${h.id} in force with threshold ${v.threshold} (version ${v.version}); the worklist is re-scored in the background.`;
                    })}>
                      Activate (threshold for ≥ 90 % sensitivity on its out-of-fold scores{h.sensitivity90 !== null ? `: ${h.sensitivity90.toFixed(2)}` : ''})
                    </button>
                  )}
                </div>
              ))}
            </div>
          )}
          {tab === 'history' && (
            <table className="site-table" data-testid="site-history">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Model</th>
                  <th>Threshold</th>
                  <th>Rule</th>
                  <th>Cases (+/−)</th>
                  <th>AUC</th>
                  <th>By, when</th>
                </tr>
              </thead>
              <tbody>
                {history.map((v) => (
                  <tr key={v.version} data-testid="site-history-row" className={v.inForce ? 'marked' : ''}>
                    <td>
                      {v.version}
                      {v.inForce ? ' (in force)' : ''}
                    </td>
                    <td>
                      {v.pack.name} {v.pack.version}
                      {v.currentPack ? '' : ' — another model, not applied'}
                    </td>
                    <td>{v.kind === 'threshold' ? `${v.threshold}${v.headId !== null ? ` (site head ${v.headId})` : ''}` : 'pack default'}</td>
                    <td>{v.rule}</td>
                    <td>
                      {v.nPositive}/{v.nNegative}
                    </td>
                    <td>{v.auc ? v.auc.value.toFixed(3) : '—'}</td>
                    <td>
                      {v.by}, {new Date(v.at).toLocaleString()}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {tab === 'drift' && drift && (
            <div data-testid="site-drift">
              <p className="setup-dim">
                Per month: the cases this station scored, flagged at {drift.threshold} ({drift.thresholdLabel}), and their score quantiles (10, 25, 50, 75, 90 %), against the {drift.reference.n} confirmed cases (flag rate {pct(drift.reference.flagRate)}; quantiles {drift.reference.quantiles?.join(', ') ?? '—'}).
              </p>
              {drift.warnings.map((w) => (
                <p key={w} className="site-warning" data-testid="drift-warning">
                  ⚠ {w}
                </p>
              ))}
              <table className="site-table">
                <thead>
                  <tr>
                    <th>Month</th>
                    <th>Cases</th>
                    <th>Flag rate</th>
                    <th>Score quantiles</th>
                    <th>KS distance</th>
                  </tr>
                </thead>
                <tbody>
                  {drift.months.map((m) => (
                    <tr key={m.month} data-testid="drift-month" className={m.warning ? 'warn' : ''}>
                      <td>{m.month}</td>
                      <td>{m.n}</td>
                      <td>{pct(m.flagRate)}</td>
                      <td>{m.quantiles?.join(', ') ?? '—'}</td>
                      <td>{m.ks === null ? '—' : `${m.ks.toFixed(2)} (p ${m.ksP! < 0.001 ? '< 0.001' : m.ksP!.toFixed(3)})`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

/** Reference results from a CSV file: preview first (matched, unmatched, conflicting rows, errors), then import. */
function ImportResults(props: { onImported: () => void }) {
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [skip, setSkip] = useState(false);
  const [preview, setPreview] = useState<ImportPreviewView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const runPreview = useCallback(async (f: { name: string; text: string }, skipUnmatched: boolean) => {
    setError(null);
    try {
      setPreview(await call('site:previewImport', { fileName: f.name, text: f.text, skipUnmatched }));
    } catch (e) {
      setPreview(null);
      setError(errorMessage(e));
    }
  }, []);

  return (
    <div className="site-import" data-testid="site-import-panel">
      <p className="setup-dim">
        A CSV file with a header row: <code>accession</code> or <code>patientId</code> (with <code>studyDate</code>), <code>test</code> (xpert, culture, smear, clinical), <code>result</code>, <code>date</code> (YYYY-MM-DD), optional <code>note</code>. Nothing is written until you import, and then all the new rows or none.
      </p>
      <input
        type="file"
        accept=".csv,text/csv"
        data-testid="site-import-file"
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (!f) return;
          setDone(null);
          void f.text().then((text) => {
            const next = { name: f.name, text };
            setFile(next);
            void runPreview(next, skip);
          });
        }}
      />
      <label className="setup-dim">
        <input
          type="checkbox"
          checked={skip}
          data-testid="site-import-skip"
          onChange={(e) => {
            setSkip(e.target.checked);
            if (file) void runPreview(file, e.target.checked);
          }}
        />{' '}
        leave out rows that match no case
      </label>
      {error && (
        <p className="signoff-error" role="alert" data-testid="site-import-error">
          {error}
        </p>
      )}
      {done && (
        <p className="signoff-note" data-testid="site-import-done">
          {done}
        </p>
      )}
      {preview && (
        <>
          <p data-testid="site-preview-counts">
            {preview.counts.new} new, {preview.counts.already_stored} already stored, {preview.counts.duplicate_in_file} repeated in the file, {preview.counts.conflict} conflicting, {preview.counts.unmatched} unmatched, {preview.counts.error} with errors
          </p>
          {preview.blockers.map((b) => (
            <p key={b} className="site-warning">
              ⚠ {b}
            </p>
          ))}
          <button
            type="button"
            className="btn btn-primary"
            disabled={!preview.canImport || preview.counts.new === 0}
            data-testid="site-import"
            onClick={() => {
              if (!file) return;
              call('site:importResults', { fileName: file.name, text: file.text, skipUnmatched: skip })
                .then((r) => {
                  setDone(`${r.written} result${r.written === 1 ? '' : 's'} imported from ${file.name}.`);
                  setPreview(r.preview);
                  props.onImported();
                  return runPreview(file, skip);
                })
                .catch((e) => setError(errorMessage(e)));
            }}
          >
            Import {preview.counts.new} result{preview.counts.new === 1 ? '' : 's'}
          </button>
          <table className="site-table">
            <thead>
              <tr>
                <th>Line</th>
                <th>Status</th>
                <th>Case</th>
                <th>Test, result, date</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {preview.rows.map((r) => (
                <tr key={r.line} data-testid="site-preview-row" data-status={r.status} className={`preview-${r.status}`}>
                  <td>{r.line}</td>
                  <td>{r.status.replace(/_/g, ' ')}</td>
                  <td>{r.caseId ?? '—'}</td>
                  <td>
                    {r.test} {r.result} {r.date}
                  </td>
                  <td>{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
