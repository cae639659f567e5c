// The findings of the open image, for the reader's decisions: accept or reject each AI finding (or all proposed at
// once), change a box's label, delete a box; each row says where the finding came from (the AI, added by a person,
// changed by a person, with the AI's original beside it) and its lung zones, in the report's words.
import { LESION_LABELS, LESION_LABEL_NAMES } from '../../../electron/contract/index';
import { zoneWords, type FindingZones } from '../report/useFindingZones';
import type { EditorController } from './controller';
import type { Finding } from './model';
import { useControllerSeq } from './useEditor';

const STATE_NAMES: Record<Finding['state'], string> = { proposed: 'proposed', accepted: 'accepted', rejected: 'rejected', edited: 'changed', added: 'added' };

function origin(f: Finding): string {
  const p = f.provenance;
  const when = p.changedAt ? ` ${new Date(p.changedAt).toLocaleString()}` : '';
  if (p.source === 'user') return `Added by ${p.author ?? 'you (not saved yet)'}${p.changedBy && p.changedBy !== p.author ? ` · changed by ${p.changedBy}${when}` : ''}`;
  const model = p.model ? `${p.model.name} ${p.model.version}` : 'the model';
  if (f.state === 'edited' && f.aiOriginal) {
    const o = f.aiOriginal;
    return `AI (${model}), changed by ${p.changedBy ?? 'you'}${when} · AI original ${LESION_LABEL_NAMES[o.label] ?? o.label} at ${Math.round(o.x)},${Math.round(o.y)} ${Math.round(o.w)}×${Math.round(o.h)}`;
  }
  if (f.state === 'accepted' || f.state === 'rejected') return `AI (${model}), ${f.state} by ${p.changedBy ?? 'you'}${when}`;
  return `AI (${model}), awaiting your decision`;
}

export function FindingsList({ editor: ed, zones }: { editor: EditorController; zones: FindingZones }) {
  useControllerSeq(ed);
  const findings = Object.values(ed.doc.findings).sort((a, b) => (a.provenance.source === b.provenance.source ? a.id.localeCompare(b.id, undefined, { numeric: true }) : a.provenance.source === 'ai' ? -1 : 1));
  const proposed = findings.filter((f) => f.state === 'proposed').length;
  return (
    <div data-testid="findings">
      <h4>
        Findings ({findings.length}){proposed ? ` · ${proposed} awaiting a decision` : ''}
      </h4>
      {findings.length === 0 && <p className="finding-meta">No lesion boxes. Draw one with the Box tool.</p>}
      <ol className="findings" data-testid="findings-list">
        {findings.map((f) => (
          <li
            key={f.id}
            className={`finding ${ed.selected === f.id ? 'selected' : ''}`}
            data-testid="finding-row"
            data-finding-id={f.id}
            data-state={f.state}
            data-source={f.provenance.source}
            onClick={() => ed.select(f.id)}
          >
            <span className="finding-title">
              {LESION_LABEL_NAMES[f.label] ?? f.label}
              {f.provenance.source === 'ai' && f.score !== undefined ? ` ${Math.round(f.score * 100)}%` : ''}
              <span className={`state-badge state-${f.state}`} data-testid="finding-state">
                {STATE_NAMES[f.state]}
              </span>
            </span>
            <span className="finding-actions" onClick={(e) => e.stopPropagation()}>
              {f.provenance.source === 'ai' && f.state !== 'accepted' && f.state !== 'edited' && (
                <button type="button" className="btn btn-small" data-testid="finding-accept" disabled={!ed.editable} onClick={() => ed.accept(f.id)} title="Accept this finding (A)">
                  Accept
                </button>
              )}
              {f.provenance.source === 'ai' && f.state !== 'rejected' && (
                <button type="button" className="btn btn-small" data-testid="finding-reject" disabled={!ed.editable} onClick={() => ed.reject(f.id)} title="Reject this finding (X)">
                  Reject
                </button>
              )}
              {f.provenance.source === 'user' && (
                <button type="button" className="btn btn-small" data-testid="finding-delete" disabled={!ed.editable} onClick={() => ed.remove(f.id)} title="Delete this box (Delete)">
                  Delete
                </button>
              )}
            </span>
            <span className="finding-meta">
              <select
                className="input"
                data-testid="finding-label"
                aria-label="Label"
                value={f.label}
                disabled={!ed.editable || f.state === 'rejected'}
                onClick={(e) => e.stopPropagation()}
                onChange={(e) => ed.relabel(f.id, e.target.value)}
              >
                {[...new Set([...LESION_LABELS, f.label])].map((l) => (
                  <option key={l} value={l}>
                    {LESION_LABEL_NAMES[l] ?? l}
                  </option>
                ))}
              </select>{' '}
              <span data-testid="finding-geometry">
                {Math.round(f.x)},{Math.round(f.y)} {Math.round(f.w)}×{Math.round(f.h)} px
              </span>
              <span data-testid="finding-zones">{zoneWords(zones, f.id)}</span>
            </span>
            <span className="finding-meta" data-testid="finding-origin">
              {origin(f)}
            </span>
          </li>
        ))}
      </ol>
      {proposed > 0 && (
        <div className="findings-all">
          <button type="button" className="btn btn-small" data-testid="findings-accept-all" disabled={!ed.editable} onClick={() => ed.acceptAll()} title="Accept every proposed finding (Shift+A)">
            Accept all proposed
          </button>
          <button type="button" className="btn btn-small" data-testid="findings-reject-all" disabled={!ed.editable} onClick={() => ed.rejectAll()}>
            Reject all proposed
          </button>
        </div>
      )}
    </div>
  );
}
