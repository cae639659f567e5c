// In the viewer: the results of this study held by the archives (SR, SEG, PDF), this station's and other
// stations', asked for when the study opens; and this case's sends with their state, with "send" by hand.
import { useCallback, useEffect, useState } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { ArchiveResult } from '../../../electron/contract/index';
import { QueueSection } from './NetworkPanel';
import './network.css';

const KIND_WORDS: Record<ArchiveResult['kind'], string> = { sr: 'Structured report', seg: 'Segmentation', pdf: 'PDF report', image: 'Image', other: 'Other' };

function when(r: ArchiveResult): string {
  const d = r.contentDate && /^\d{8}$/.test(r.contentDate) ? `${r.contentDate.slice(0, 4)}-${r.contentDate.slice(4, 6)}-${r.contentDate.slice(6, 8)}` : '';
  const t = r.contentTime && r.contentTime.length >= 4 ? ` ${r.contentTime.slice(0, 2)}:${r.contentTime.slice(2, 4)}` : '';
  return `${d}${t}`;
}

export function ArchiveResults(props: { caseId: number }) {
  const [results, setResults] = useState<ArchiveResult[] | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const [hasRemotes, setHasRemotes] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [showQueue, setShowQueue] = useState(false);

  const load = useCallback(() => {
    call('network:listRemotes', {})
      .then((remotes) => {
        setHasRemotes(remotes.length > 0);
        if (!remotes.length) return;
        return call('network:studyResults', { caseId: props.caseId }).then((v) => {
          setResults(v.results);
          setErrors(v.errors.map((e) => `${e.remoteName}: ${e.message}`));
        });
      })
      .catch((e) => setErrors([errorMessage(e)]));
  }, [props.caseId]);
  useEffect(load, [load]);
  // When one of our sends is delivered, the archive's list has changed.
  useEffect(
    () =>
      onEvent('network:onQueue', (e) => {
        if (e.problem?.caseId === props.caseId) setMessage(`The results were not sent automatically: ${e.problem.message}`);
        load();
      }),
    [load, props.caseId],
  );

  const send = () => {
    setMessage(null);
    call('network:sendResults', { caseId: props.caseId })
      .then((r) => {
        setMessage(r.queued.length ? `Queued ${r.queued.length} result(s) for the archives.` : 'No archive is marked “send results” (Settings > DICOM network).');
        setShowQueue(true);
      })
      .catch((e) => setMessage(errorMessage(e)));
  };

  if (!hasRemotes) return null;
  return (
    <section className="archive-results" data-testid="archive-results">
      <h4>
        Results in the archive
        <button type="button" className="btn btn-small" onClick={load}>
          Refresh
        </button>
        <button type="button" className="btn btn-small" onClick={send} data-testid="send-results">
          Send signed results
        </button>
        <button type="button" className="btn btn-small" onClick={() => setShowQueue((v) => !v)}>
          {showQueue ? 'Hide sends' : 'Sends'}
        </button>
      </h4>
      {message && <p className="setup-dim" data-testid="send-results-message">{message}</p>}
      {errors.map((e) => (
        <p key={e} className="setup-error">
          {e}
        </p>
      ))}
      {results === null ? (
        <p className="setup-dim">Asking the archives…</p>
      ) : results.length === 0 ? (
        <p className="setup-dim">No signed result of this study in the archives yet.</p>
      ) : (
        <ul>
          {results.map((r) => (
            <li key={`${r.remoteId}:${r.sopInstanceUid}`} data-testid="archive-result" data-ours={r.ours}>
              {KIND_WORDS[r.kind]} · {r.seriesDescription ?? ''} · {when(r)} · {r.remoteName} · {r.ours ? 'sent from this station' : 'from another station'}
            </li>
          ))}
        </ul>
      )}
      {showQueue && <QueueSection caseId={props.caseId} />}
    </section>
  );
}
