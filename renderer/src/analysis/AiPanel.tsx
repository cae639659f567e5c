// The model's reading of the image on screen: TB score against the operating threshold in force (the triage flag, in
// words and a mark), the class probabilities, and the findings: each proposed lesion with its lung zones (as the
// report names them), what the reader decided about it (accept, reject, change) and who made or changed it. A flagged
// image without any box says what it shows instead (the strongest regions, low confidence, and the evidence map).
// The AI's original reading is kept as it was written.
import { useEffect, useState } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { AnalysisView } from '../api';
import { LESION_LABEL_NAMES as LESION_NAMES } from '../../../electron/contract/index';
import type { EditorController } from '../editor/controller';
import { FindingsList } from '../editor/FindingsList';
import { useFindingZones, zoneWords } from '../report/useFindingZones';

export function AiPanel({ caseId, imageId, editor }: { caseId: number; imageId: number; editor?: EditorController | null }) {
  const zones = useFindingZones(caseId, imageId);
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
      <aside className="ai-panel" data-testid="ai-panel" data-state={state.failure?.code === 'OUT_OF_SCOPE' ? 'out-of-scope' : state.failure ? 'failed' : 'pending'}>
        <h3>AI reading</h3>
        {state.failure?.code === 'OUT_OF_SCOPE' ? (
          <p className="inline-error" data-testid="ai-out-of-scope">
            <strong>Out of scope: no TB score.</strong> {state.failure.message}
          </p>
        ) : state.failure ? (
          <p className="inline-error">
            The model could not read this image: {state.failure.code}: {state.failure.message}
          </p>
        ) : (
          <p>Waiting for the model…</p>
        )}
        {editor && <FindingsList editor={editor} zones={zones} />}
      </aside>
    );
  }
  // The score and threshold in force and the flag (site/threshold.ts via analysis:get), the same as the worklist, the
  // draft, the answers and the exports say; without them (a reading that recorded no threshold) nothing is flagged.
  const f = a.inForce;
  const score = f ? f.score : a.tbScore;
  const threshold = f ? f.threshold.value : null;
  const flagged = f?.flagged ?? false;
  const lowConfidence = flagged && a.boxes.length === 0;
  return (
    <aside className="ai-panel" data-testid="ai-panel" data-state="done" data-flagged={flagged ? 'true' : 'false'}>
      <h3>AI reading</h3>
      <div className={`ai-score ${flagged ? 'ai-flagged' : ''}`}>
        TB score <strong data-testid="ai-tb-score">{score.toFixed(0)}</strong>
        <span className="ai-threshold" data-testid="ai-threshold" title={f ? `Operating threshold: ${f.threshold.label}` : 'No operating threshold is known for this reading'}>
          {' '}
          / threshold {threshold === null ? '—' : threshold.toFixed(threshold % 1 ? 1 : 0)}
        </span>
      </div>
      {f && (
        <div className="ai-threshold-origin" data-testid="ai-threshold-origin">
          {f.headId != null ? `Site-adapted score (site head ${f.headId}; the model's own ${a.tbScore.toFixed(0)}) · ` : ''}
          {f.threshold.label}
        </div>
      )}
      {f?.note && <p className="setup-dim">{f.note}</p>}
      <div data-testid="ai-verdict">
        {flagged ? (
          <>
            <span aria-hidden="true">▲</span> Flagged: at or above the threshold, TB suspected; confirm with sputum testing
          </>
        ) : threshold === null ? (
          'No operating threshold is known for this reading: not flagged'
        ) : (
          'Below the threshold: not flagged'
        )}
      </div>
      {lowConfidence && (
        <p className="ai-low-confidence" data-testid="ai-low-confidence" role="note">
          No lesion box reached the model’s display score{a.displayScore === null ? '' : ` (${Math.round(a.displayScore * 100)}%)`}.{' '}
          {a.candidates.length
            ? `Shown instead: the ${a.candidates.length === 1 ? 'strongest region' : `${a.candidates.length} strongest regions`} as low-confidence outlines, not findings, and the evidence map.`
            : 'Shown instead: the evidence map.'}{' '}
          Look there, and draw a box where you see a lesion.
        </p>
      )}
      <ul className="ai-probs">
        {a.probabilities.map((p) => (
          <li key={p.name}>
            {p.name.replace(/_/g, ' ')}: {(p.p * 100).toFixed(1)}%
          </li>
        ))}
      </ul>
      {editor ? (
        <FindingsList editor={editor} zones={zones} />
      ) : (
        <>
          <h4>Proposed lesions ({a.boxes.length})</h4>
          <ol className="ai-boxes" data-testid="ai-boxes">
            {a.boxes.map((b, i) => (
              <li key={i}>
                {LESION_NAMES[b.label] ?? b.label} ({(b.score * 100).toFixed(0)}%){zoneWords(zones, [...zones.keys()].find((id) => id.startsWith('ai-') && id.endsWith(`-${i}`)) ?? '')}
              </li>
            ))}
          </ol>
        </>
      )}
      <p className="ai-model">
        {a.model.name} {a.model.version} · {a.model.ep.toUpperCase()} · {Math.round(a.timingsMs.total ?? 0)} ms
      </p>
    </aside>
  );
}
