// The model's background work, in the header: what is waiting, what is being read, and which model runs where
// (or why images are not being analysed).
import { useEffect, useState } from 'react';
import { call, onEvent } from '../api';
import type { AnalysisProgress } from '../api';

export function AnalysisStatus() {
  const [p, setP] = useState<AnalysisProgress | null>(null);
  useEffect(() => {
    let live = true;
    const off = onEvent('analysis:onProgress', (x) => live && setP(x));
    call('analysis:status', {})
      .then((x) => live && setP(x))
      .catch(() => undefined);
    return () => {
      live = false;
      off();
    };
  }, []);
  if (!p) return null;
  if (!p.model) {
    return (
      <span className="analysis-status analysis-off" data-testid="analysis-status" data-state="off" title={p.modelError?.message}>
        AI off: {p.modelError?.code ?? 'no model'}
      </span>
    );
  }
  const model = `${p.model.name} ${p.model.version} on ${p.model.ep.toUpperCase()}`;
  const busy = p.pending > 0;
  return (
    <span className={`analysis-status ${busy ? 'analysis-busy' : ''}`} data-testid="analysis-status" data-state={busy ? 'busy' : 'idle'} data-pending={p.pending} title={model}>
      {busy ? (
        <>
          <span className="spinner" /> AI reading: {p.pending} waiting
        </>
      ) : (
        <>AI ready · {model}</>
      )}
      {p.failed > 0 ? ` · ${p.failed} failed` : ''}
    </span>
  );
}
