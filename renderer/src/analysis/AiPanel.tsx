// The model's reading of the image on screen: TB score against the operating threshold, the class probabilities,
// and the findings: each proposed lesion with its lung zone, what the reader decided about it (accept, reject,
// change) and who made or changed it. The AI's original reading is kept as it was written.
import { useEffect, useState } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { AnalysisView } from '../api';
import { LESION_LABEL_NAMES as LESION_NAMES } from '../../../electron/contract/index';
import type { EditorController } from '../editor/controller';
import { FindingsList } from '../editor/FindingsList';

export function AiPanel({ imageId, editor }: { imageId: number; editor?: EditorController | null }) {
  const [state, setState] = useState<{ analysis: AnalysisView | null; failure: { code: string; message: string } | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let have = false;
    const load = () =>
      call('analysis:get', { imageId })
        .then((r) => {
          if (!live) return;
          have = r.analysis !== null;
          setState(r);
        })
        .catch((e) => live && setError(errorMessage(e)));
    load();
    // A reading that arrives while the image is open shows up without a reload; once it is here, it never changes,
    // but the score and threshold in force do when the site calibration changes.
    const off = onEvent('analysis:onProgress', () => {
      if (!have) load();
    });
    const offSite = onEvent('site:onChanged', () => load());
    return () => {
      live = false;
      off();
      offSite();
    };
  }, [imageId]);

  if (error) return <aside className="ai-panel" data-testid="ai-panel">AI reading unavailable: {error}</aside>;
  if (!state) return null;
  const a = state.analysis;
  if (!a) {
    return (
      <aside className="ai-panel" data-testid="ai-panel" data-state={state.failure ? 'failed' : 'pending'}>
        <h3>AI reading</h3>
        {state.failure ? (
          <p className="inline-error">
            The model could not read this image: {state.failure.code}: {state.failure.message}
          </p>
        ) : (
          <p>Waiting for the model…</p>
        )}
        {editor && <FindingsList editor={editor} analysis={null} />}
      </aside>
    );
  }
  const f = a.inForce;
  const score = f ? f.score : a.tbScore;
  const threshold = f ? f.threshold.value : a.threshold;
  const flagged = score >= threshold;
  return (
    <aside className="ai-panel" data-testid="ai-panel" data-state="done">
      <h3>AI reading</h3>
      <div className={`ai-score ${flagged ? 'ai-flagged' : ''}`}>
        TB score <strong data-testid="ai-tb-score">{score.toFixed(0)}</strong>
        <span className="ai-threshold" data-testid="ai-threshold" title={f ? `Operating threshold: ${f.threshold.label}` : 'The model pack\'s operating threshold'}>
          {' '}
          / threshold {threshold.toFixed(threshold % 1 ? 1 : 0)}
        </span>
      </div>
      <div className="ai-threshold-origin" data-testid="ai-threshold-origin">
        {f?.headId != null ? `Site-adapted score (site head ${f.headId}; the model's own ${a.tbScore.toFixed(0)}) · ` : ''}
        {f ? f.threshold.label : 'pack default'}
      </div>
      {f?.note && <p className="setup-dim">{f.note}</p>}
      <div data-testid="ai-verdict">{flagged ? 'Above threshold: TB suspected, confirm with sputum testing' : 'Below threshold'}</div>
      <ul className="ai-probs">
        {a.probabilities.map((p) => (
          <li key={p.name}>
            {p.name.replace(/_/g, ' ')}: {(p.p * 100).toFixed(1)}%
          </li>
        ))}
      </ul>
      {editor ? (
        <FindingsList editor={editor} analysis={a} />
      ) : (
        <>
          <h4>Proposed lesions ({a.boxes.length})</h4>
          <ol className="ai-boxes" data-testid="ai-boxes">
            {a.boxes.map((b, i) => {
              const z = a.zones.filter((zz) => zz.box === i).map((zz) => `${zz.side} ${zz.zone}`);
              return (
                <li key={i}>
                  {LESION_NAMES[b.label] ?? b.label} ({(b.score * 100).toFixed(0)}%){z.length ? ` · ${[...new Set(z)].join(', ')} zone` : ''}
                </li>
              );
            })}
          </ol>
        </>
      )}
      <p className="ai-model">
        {a.model.name} {a.model.version} · {a.model.ep.toUpperCase()} · {Math.round(a.timingsMs.total ?? 0)} ms
      </p>
    </aside>
  );
}
