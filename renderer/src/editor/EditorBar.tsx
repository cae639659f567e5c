// The editing toolbar under the viewer's: tools, the mask to paint on and the brush size, the layers and the
// heatmap's opacity, undo/redo, and the save status (the truth: saving while the store has not answered, the saved
// version once it has, an error with what to do otherwise). Also the shortcut help overlay (`?`).
import { useState } from 'react';
import './editor.css';
import type { EditorController, LayerName, ToolName } from './controller';
import { ACTIONS, conflictOf, defaultKeyMap, keyName, saveKeyMap, type Action, type KeyMap } from './keymap';
import { useControllerSeq } from './useEditor';
import type { MaskLabel } from './model';

const TOOLS: { tool: ToolName; label: string; action: Action }[] = [
  { tool: 'view', label: 'W/L', action: 'toolView' },
  { tool: 'select', label: 'Select', action: 'toolSelect' },
  { tool: 'box', label: 'Box', action: 'toolBox' },
  { tool: 'brush', label: 'Brush', action: 'toolBrush' },
  { tool: 'eraser', label: 'Eraser', action: 'toolEraser' },
  { tool: 'lasso', label: 'Lasso', action: 'toolLasso' },
  { tool: 'fill', label: 'Fill', action: 'toolFill' },
];
const LAYERS: { layer: LayerName; label: string; action: Action }[] = [
  { layer: 'boxes', label: 'Boxes', action: 'layerBoxes' },
  { layer: 'lungs', label: 'Lungs', action: 'layerLungs' },
  { layer: 'lesions', label: 'Lesions', action: 'layerLesions' },
  { layer: 'heatmap', label: 'Heatmap', action: 'layerHeatmap' },
];
export const TARGET_NAMES: Record<MaskLabel, string> = { right_lung: 'Right lung', left_lung: 'Left lung', lesion: 'Lesion' };

const keyHint = (map: KeyMap, a: Action) => (map[a][0] ? ` (${map[a][0]})` : '');

export function EditorBar(props: { controller: EditorController; keymap: KeyMap; hasHeatmap: boolean; onHelp: () => void; onReload: () => void; notice: string | null }) {
  const { controller: ed, keymap, hasHeatmap, onHelp, onReload, notice } = props;
  useControllerSeq(ed);
  const st = ed.status;
  const paintTool = ed.tool === 'brush' || ed.tool === 'eraser' || ed.tool === 'lasso' || ed.tool === 'fill';
  return (
    <div className="editor-bar" role="toolbar" aria-label="Editing tools" data-testid="editor-toolbar">
      <span className="editor-group" aria-label="Tool">
        {TOOLS.map((t) => (
          <button
            key={t.tool}
            type="button"
            className={`btn btn-small ${ed.tool === t.tool ? 'active' : ''}`}
            aria-pressed={ed.tool === t.tool}
            data-testid={`tool-${t.tool === 'view' ? 'wl' : t.tool}`}
            disabled={!ed.editable && t.tool !== 'view' && t.tool !== 'select'}
            title={`${ACTIONS[t.action].label}${keyHint(keymap, t.action)}`}
            onClick={() => ed.setTool(t.tool)}
          >
            {t.label}
          </button>
        ))}
      </span>
      {paintTool && (
        <span className="editor-group">
          <label className="field">
            <span>Mask</span>
            <select className="input" data-testid="mask-target" value={ed.target} onChange={(e) => ed.setTarget(e.target.value as MaskLabel)} title={`${ACTIONS.cycleTarget.label}${keyHint(keymap, 'cycleTarget')}`}>
              {(Object.keys(TARGET_NAMES) as MaskLabel[]).map((m) => (
                <option key={m} value={m}>
                  {TARGET_NAMES[m]}
                </option>
              ))}
            </select>
          </label>
          {(ed.tool === 'brush' || ed.tool === 'eraser') && (
            <label className="field" title={`Brush radius in image pixels; ${keymap.brushSmaller[0] ?? ''} and ${keymap.brushLarger[0] ?? ''} change it`}>
              <span>Size</span>
              <input
                className="input editor-size"
                type="number"
                min={1}
                max={200}
                data-testid="brush-size"
                value={ed.brushRadius}
                onChange={(e) => ed.setBrushRadius(Number(e.target.value) || 1)}
              />
            </label>
          )}
        </span>
      )}
      <span className="editor-group" aria-label="Layers">
        {LAYERS.map((l) => (
          <button
            key={l.layer}
            type="button"
            className={`btn btn-small ${ed.layers[l.layer] ? 'active' : ''}`}
            aria-pressed={ed.layers[l.layer]}
            data-testid={`layer-${l.layer}`}
            disabled={l.layer === 'heatmap' && !hasHeatmap}
            title={`${ACTIONS[l.action].label}${keyHint(keymap, l.action)}${l.layer === 'heatmap' && !hasHeatmap ? ' (no heatmap: the model has not read this image)' : ''}`}
            onClick={() => ed.toggleLayer(l.layer)}
          >
            {l.label}
          </button>
        ))}
        {ed.layers.heatmap && hasHeatmap && (
          <input
            type="range"
            min={0}
            max={100}
            aria-label="Heatmap opacity"
            data-testid="heatmap-opacity"
            value={Math.round(ed.heatmapOpacity * 100)}
            onChange={(e) => ed.setHeatmapOpacity(Number(e.target.value) / 100)}
          />
        )}
      </span>
      <span className="editor-group">
        <button type="button" className="btn btn-small" data-testid="edit-undo" disabled={!ed.history.canUndo || !ed.editable} onClick={() => ed.undo()} title={`Undo${keyHint(keymap, 'undo')}`}>
          Undo
        </button>
        <button type="button" className="btn btn-small" data-testid="edit-redo" disabled={!ed.history.canRedo || !ed.editable} onClick={() => ed.redo()} title={`Redo${keyHint(keymap, 'redo')}`}>
          Redo
        </button>
      </span>
      <span className="toolbar-spacer" />
      {notice && (
        <span className="editor-notice" role="status" data-testid="editor-notice">
          {notice}
        </span>
      )}
      {ed.locked ? (
        <span className="save-status save-locked" data-testid="save-status" data-state="locked" title={ed.locked.message}>
          Read-only: signed
        </span>
      ) : (
        <span className={`save-status save-${st.state}`} data-testid="save-status" data-state={st.state} data-version={ed.version} data-save-ms={ed.lastSaveMs.toFixed(1)} role="status" title={st.state === 'error' ? st.message : st.state === 'saved' ? `Saved by ${st.author}; the last save took ${ed.lastSaveMs.toFixed(0)} ms` : undefined}>
          {st.state === 'idle' && 'No changes yet'}
          {st.state === 'pending' && 'Unsaved change…'}
          {st.state === 'saving' && 'Saving…'}
          {st.state === 'saved' && `Saved · version ${st.version} · ${new Date(st.savedAt).toLocaleTimeString()}`}
          {st.state === 'error' && (
            <>
              Not saved: {st.message}{' '}
              {st.stale ? (
                <button type="button" className="btn btn-small" data-testid="save-reload" onClick={onReload} title="Open the latest version (your unsaved change is dropped)">
                  Open latest
                </button>
              ) : (
                <button type="button" className="btn btn-small" data-testid="save-retry" onClick={() => ed.retrySave()}>
                  Retry
                </button>
              )}
            </>
          )}
        </span>
      )}
      <button type="button" className="btn btn-small" data-testid="help-open" onClick={onHelp} title="Keyboard shortcuts (?)">
        ?
      </button>
    </div>
  );
}

/** Every shortcut, grouped; each can be changed (press the new key) and is remembered on this computer. */
export function ShortcutHelp(props: { keymap: KeyMap; onChange: (map: KeyMap) => void; onClose: () => void }) {
  const { keymap, onChange, onClose } = props;
  const [capturing, setCapturing] = useState<Action | null>(null);
  const [warning, setWarning] = useState<string | null>(null);
  const groups = [...new Set(Object.values(ACTIONS).map((a) => a.group))];
  const capture = (e: React.KeyboardEvent, action: Action) => {
    e.preventDefault();
    e.stopPropagation();
    if (e.key === 'Escape') {
      setCapturing(null);
      return;
    }
    const name = keyName(e);
    if (!name) return;
    const other = conflictOf(keymap, name, action);
    const next = { ...keymap, [action]: [name] } as KeyMap;
    if (other) next[other] = keymap[other].filter((k) => k.toLowerCase() !== name.toLowerCase());
    setWarning(other ? `${name} was ${ACTIONS[other].label.toLowerCase()}; that action now has ${next[other].length ? next[other].join(', ') : 'no key'}.` : null);
    saveKeyMap(next);
    onChange(next);
    setCapturing(null);
  };
  return (
    <div className="help-overlay" data-testid="help-overlay" role="dialog" aria-label="Keyboard shortcuts" onKeyDown={(e) => (e.key === 'Escape' || e.key === '?') && !capturing && (e.stopPropagation(), onClose())}>
      <div className="help-box">
        <div className="help-head">
          <h3>Keyboard shortcuts</h3>
          <span className="toolbar-spacer" />
          <button
            type="button"
            className="btn btn-small"
            data-testid="shortcut-reset"
            onClick={() => {
              const d = defaultKeyMap();
              saveKeyMap(d);
              onChange(d);
              setWarning(null);
            }}
          >
            Restore defaults
          </button>
          <button type="button" className="btn btn-small" data-testid="help-close" onClick={onClose} autoFocus>
            Close
          </button>
        </div>
        <p className="help-note">
          Mouse: with W/L, drag changes the window; right or middle drag (or Space) pans; the wheel zooms. With Select, drag a box to move it and its
          handles to resize it (edges snap to whole pixels and to other boxes; hold Alt to place freely). The brush erases while Shift is held; the lasso
          fills what you trace, or click corners and close on the first one (Enter also closes). Escape cancels a drag in progress.
        </p>
        {warning && <p className="editor-notice">{warning}</p>}
        <div className="help-groups">
          {groups.map((g) => (
            <table key={g} className="help-table">
              <caption>{g}</caption>
              <tbody>
                {(Object.entries(ACTIONS) as [Action, (typeof ACTIONS)[Action]][])
                  .filter(([, a]) => a.group === g)
                  .map(([action, a]) => (
                    <tr key={action} data-testid="shortcut-row" data-action={action}>
                      <td>{a.label}</td>
                      <td className="help-keys">
                        {capturing === action ? (
                          <input className="input help-capture" autoFocus readOnly value="press a key…" onKeyDown={(e) => capture(e, action)} onBlur={() => setCapturing(null)} data-testid="shortcut-capture" />
                        ) : (
                          <button type="button" className="btn btn-small" data-testid="shortcut-change" onClick={() => setCapturing(action)} title="Change this shortcut">
                            {keymap[action].length ? keymap[action].map((k) => <kbd key={k}>{k}</kbd>) : '—'}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          ))}
        </div>
      </div>
    </div>
  );
}
