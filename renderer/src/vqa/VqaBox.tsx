// Questions about the image on screen, answered by the station from the current findings (after the reader's
// corrections): yes/no questions, where/how many/what score, and a plain refusal for what the model does not read.
// Each answer shows the findings and zones it rests on.
import { useState } from 'react';
import { call, errorMessage } from '../api';
import { zonePhrase, type VqaAnswer } from '../../../electron/contract/index';

interface Asked {
  id: number;
  question: string;
  answer: VqaAnswer | null;
  error: string | null;
}

const KIND_NAMES: Record<string, string> = { active: 'active TB', obsolete: 'obsolete TB', other: 'other' };
const EXAMPLES = ['Is the left lung affected?', 'Where is the lesion?', 'How sure is the model?'];

function Evidence({ a }: { a: VqaAnswer }) {
  const e = a.evidence;
  if (!e.findings.length && e.tbScore === null) return null;
  return (
    <ul className="vqa-evidence" data-testid="vqa-evidence">
      {e.findings.map((f) => (
        <li key={f.id} data-testid="vqa-evidence-finding">
          {KIND_NAMES[f.kind] === 'other' ? f.label : KIND_NAMES[f.kind]} · {zonePhrase(f.side, f.zones)}
          {f.score !== null ? ` · AI ${(f.score * 100).toFixed(0)}%` : ' · drawn by the reader'}
          {f.state === 'proposed' ? ' · not yet reviewed' : ''}
        </li>
      ))}
      {e.tbScore !== null && (
        <li data-testid="vqa-evidence-score">
          TB score {e.tbScore.toFixed(1)} (threshold {e.threshold?.toFixed(1)}){e.model ? ` · ${e.model}` : ''}
        </li>
      )}
    </ul>
  );
}

export function VqaBox({ imageId }: { imageId: number }) {
  const [question, setQuestion] = useState('');
  const [asked, setAsked] = useState<Asked[]>([]);
  const [busy, setBusy] = useState(false);

  const ask = async (q: string) => {
    const text = q.trim();
    if (!text || busy) return;
    const id = Date.now();
    setBusy(true);
    try {
      const answer = await call('vqa:ask', { imageId, question: text });
      setAsked((xs) => [{ id, question: text, answer, error: null }, ...xs].slice(0, 20));
      setQuestion('');
    } catch (e) {
      setAsked((xs) => [{ id, question: text, answer: null, error: errorMessage(e) }, ...xs].slice(0, 20));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="vqa-box" data-testid="vqa-box">
      <h3>Ask about this image</h3>
      <form
        className="vqa-form"
        onSubmit={(e) => {
          e.preventDefault();
          void ask(question);
        }}
      >
        <input
          className="input vqa-input"
          data-testid="vqa-input"
          aria-label="Question about the image"
          placeholder={`e.g. ${EXAMPLES[0]}`}
          value={question}
          maxLength={500}
          onChange={(e) => setQuestion(e.target.value)}
        />
        <button type="submit" className="btn btn-small btn-primary" data-testid="vqa-ask" disabled={busy || !question.trim()}>
          Ask
        </button>
      </form>
      {!asked.length && (
        <div className="vqa-examples">
          {EXAMPLES.map((q) => (
            <button key={q} type="button" className="btn-link" onClick={() => void ask(q)}>
              {q}
            </button>
          ))}
        </div>
      )}
      <ol className="vqa-answers" aria-live="polite">
        {asked.map((x) => (
          <li key={x.id} className="vqa-item" data-testid="vqa-item" data-type={x.answer?.type ?? 'error'}>
            <div className="vqa-question">{x.question}</div>
            {x.answer ? (
              <>
                <div className={`vqa-answer vqa-${x.answer.type}`} data-testid="vqa-answer">
                  {x.answer.answer}
                </div>
                <Evidence a={x.answer} />
              </>
            ) : (
              <div className="inline-error" role="alert">
                Not answered: {x.error}
              </div>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
