// The report of the open case: the draft written from the current findings, editable. While the reader has not
// edited it, it follows the findings (re-read after every annotation save). Once the reader's text is saved, a later
// change of findings shows a notice with a one-click re-draft; the reader's words are never replaced silently.
import { useCallback, useEffect, useRef, useState } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { ReportView } from '../../../electron/contract/index';

type Status = { kind: 'idle' } | { kind: 'saving' } | { kind: 'saved'; at: string } | { kind: 'error'; message: string };

function when(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function ReportPanel({ caseId }: { caseId: number }) {
  const [report, setReport] = useState<ReportView | null>(null);
  const [text, setText] = useState('');
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const [loadError, setLoadError] = useState<string | null>(null);
  // The reader's unsaved edit, and the findings fingerprint of the report it was started on.
  const editing = useRef<{ fingerprint: string } | null>(null);
  const live = useRef(true);
  // Until every image has its AI reading, a finished analysis may change the draft; after that, progress events cannot.
  const awaitingAi = useRef(true);

  const load = useCallback(async () => {
    try {
      const r = await call('report:get', { caseId });
      if (!live.current) return;
      setLoadError(null);
      awaitingAi.current = r.facts.images.some((im) => im.ai === null);
      setReport(r);
      if (!editing.current) setText(r.text);
    } catch (e) {
      if (live.current) setLoadError(errorMessage(e));
    }
  }, [caseId]);

  useEffect(() => {
    live.current = true;
    void load();
    const offs = [
      onEvent('annotations:onSaved', (e) => e.caseId === caseId && void load()),
      onEvent('report:onChanged', (e) => e.caseId === caseId && void load()),
      onEvent('cases:onChanged', (e) => e.caseIds.includes(caseId) && void load()),
      onEvent('analysis:onProgress', () => awaitingAi.current && void load()),
    ];
    return () => {
      live.current = false;
      for (const off of offs) off();
    };
  }, [caseId, load]);

  const onEdit = (value: string) => {
    if (!report || report.locked) return;
    if (!editing.current) editing.current = { fingerprint: report.findingsFingerprint };
    setText(value);
    if (status.kind !== 'saving') setStatus({ kind: 'idle' });
  };

  const save = async () => {
    if (!report || !editing.current) return;
    setStatus({ kind: 'saving' });
    try {
      const r = await call('report:save', { caseId, baseVersion: report.version, text, findingsFingerprint: editing.current.fingerprint });
      editing.current = null;
      setReport(r);
      setText(r.text);
      setStatus({ kind: 'saved', at: r.savedAt ?? new Date().toISOString() });
    } catch (e) {
      setStatus({ kind: 'error', message: errorMessage(e) });
    }
  };

  const discard = () => {
    editing.current = null;
    if (report) setText(report.text);
    setStatus({ kind: 'idle' });
  };

  const redraft = async () => {
    if (!report) return;
    setStatus({ kind: 'saving' });
    try {
      const r = await call('report:redraft', { caseId, baseVersion: report.version });
      editing.current = null;
      setReport(r);
      setText(r.text);
      setStatus({ kind: 'idle' });
    } catch (e) {
      setStatus({ kind: 'error', message: errorMessage(e) });
    }
  };

  if (loadError && !report) {
    return (
      <section className="report-panel" data-testid="report-panel">
        <h3>Report</h3>
        <p className="inline-error" role="alert">
          The report could not be loaded: {loadError}{' '}
          <button type="button" className="btn btn-small" onClick={() => void load()}>
            Retry
          </button>
        </p>
      </section>
    );
  }
  if (!report) return null;

  const dirty = editing.current !== null && text !== report.text;
  // Findings changed under an unsaved edit: the same notice as for saved text, before the reader saves.
  const staleUnderEdit = dirty && editing.current!.fingerprint !== report.findingsFingerprint;
  const stale = report.stale || staleUnderEdit;
  const source = dirty ? 'unsaved' : report.source;
  let statusText: string;
  if (report.locked) statusText = `Signed by ${report.signed?.signerName ?? 'a radiologist'} at ${when(report.signed?.signedAt ?? null)}: read-only.`;
  else if (status.kind === 'saving') statusText = 'Saving…';
  else if (status.kind === 'error') statusText = `Not saved: ${status.message}`;
  else if (dirty) statusText = 'Unsaved changes.';
  else if (report.source === 'edited') statusText = `Saved${report.author ? ` by ${report.author}` : ''} at ${when(report.savedAt)} (version ${report.version}).`;
  else statusText = 'Draft written from the current findings; it follows them until you edit it.';

  return (
    <section className="report-panel" data-testid="report-panel" data-source={source} data-stale={stale ? 'true' : 'false'} data-version={report.version}>
      <h3>Report</h3>
      {stale && !report.locked && (
        <div className="report-stale" role="alert" data-testid="report-stale">
          The findings changed after this text was written; it no longer matches them.{' '}
          <button type="button" className="btn btn-small btn-primary" data-testid="report-redraft" onClick={() => void redraft()} disabled={status.kind === 'saving'}>
            Re-draft from the findings
          </button>
        </div>
      )}
      <textarea
        className="report-text"
        data-testid="report-text"
        aria-label="Report text"
        value={text}
        readOnly={report.locked}
        spellCheck
        onChange={(e) => onEdit(e.target.value)}
        onKeyDown={(e) => {
          if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
            e.preventDefault();
            if (dirty) void save();
          }
        }}
      />
      <div className={`report-status ${status.kind === 'error' ? 'inline-error' : ''}`} data-testid="report-status" role="status">
        {statusText}
      </div>
      {!report.locked && (
        <div className="report-actions">
          <button type="button" className="btn btn-small btn-primary" data-testid="report-save" disabled={!dirty || status.kind === 'saving'} onClick={() => void save()}>
            Save text
          </button>
          <button type="button" className="btn btn-small" data-testid="report-discard" disabled={!dirty || status.kind === 'saving'} onClick={discard}>
            Discard changes
          </button>
          {report.source === 'edited' && !stale && !dirty && (
            <button type="button" className="btn btn-small" data-testid="report-revert" onClick={() => void redraft()} disabled={status.kind === 'saving'} title="Replace the text by a draft of the current findings (the edited text stays in the version history)">
              Back to draft
            </button>
          )}
        </div>
      )}
    </section>
  );
}
