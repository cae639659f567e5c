// The image viewer: loads a case and its pixels, paints them through the LUT engine on a Konva stage, and turns
// mouse, wheel and keyboard input into window/level, zoom and pan. Every settled repaint dispatches
// `cxr:rendered` on window with { imageId, center, width, invert, zoom } (and lutMs), so tests can wait on it.
// Over the image, the editor's layers (masks, heatmap, boxes) follow every frame; with an editing tool in hand the
// left button edits instead of windowing (see editor/tools.ts), and every shortcut comes from the reader's key map.
import { AiPanel } from '../analysis/AiPanel';
import { ReadingDock } from '../report/ReadingDock';
import { SignoffBar } from '../accounts/SignoffBar';
import { ExportMenu } from '../exports/ExportMenu';
import { ArchiveResults } from '../network/ArchiveResults';
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { OverlayRenderer } from '../canvas/overlays';
import { EditorBar, ShortcutHelp } from '../editor/EditorBar';
import { actionFor, loadKeyMap, type Action, type KeyMap } from '../editor/keymap';
import { ToolInput } from '../editor/tools';
import { useEditor } from '../editor/useEditor';
import { LESION_LABELS } from '../../../electron/contract/index';
import type { MaskLabel } from '../editor/model';
import type { ToolName } from '../editor/controller';
import { call, errorMessage, type CaseDetail, type ImageInfo } from '../api';
import { ImageStage, type StageNodes } from '../canvas/ImageStage';
import { formatDate, formatPersonName } from '../app/format';
import { ViewerEngine, type RenderedDetail, type ViewState } from './engine';
import { toUint16 } from './lut';

const MemoStage = memo(ImageStage);

function emitRendered(detail: RenderedDetail): void {
  window.dispatchEvent(new CustomEvent('cxr:rendered', { detail }));
}

interface Drag {
  mode: 'wl' | 'pan' | 'tool';
  pointerId: number;
  startX: number;
  startY: number;
  lastX: number;
  lastY: number;
  c0: number;
  w0: number;
  moved: boolean;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

const fmt = (n: number) => String(Math.round(n));

const TOOL_ACTIONS: Partial<Record<Action, ToolName>> = {
  toolView: 'view',
  toolSelect: 'select',
  toolBox: 'box',
  toolBrush: 'brush',
  toolEraser: 'eraser',
  toolLasso: 'lasso',
  toolFill: 'fill',
};
const TARGETS: MaskLabel[] = ['right_lung', 'left_lung', 'lesion'];

export function Viewer(props: { caseId: number; onBack: () => void; active: boolean; onOpenCase?: (caseId: number) => void }) {
  const { caseId, onBack, active, onOpenCase } = props;
  const [detail, setDetail] = useState<CaseDetail | null>(null);
  const [imageIndex, setImageIndex] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState<string | null>('Loading case…');
  const [engine, setEngine] = useState<ViewerEngine | null>(null);
  const [view, setView] = useState<ViewState | null>(null);
  const [size, setSize] = useState({ w: 0, h: 0 });
  const [spaceHeld, setSpaceHeld] = useState(false);
  const [reloadKey, setReloadKey] = useState(0);
  const nodes = useRef<StageNodes | null>(null);
  const engineRef = useRef<ViewerEngine | null>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const drag = useRef<Drag | null>(null);
  const sizeRef = useRef({ w: 0, h: 0 });
  const [nodesReady, setNodesReady] = useState(0);
  const [keymap, setKeymap] = useState<KeyMap>(() => loadKeyMap());
  const [helpOpen, setHelpOpen] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  // where messages about the case (an export's result) show: over the top of the image, covering no control
  const [noticeSlot, setNoticeSlot] = useState<HTMLDivElement | null>(null);
  const tools = useRef<ToolInput | null>(null);

  // The case.
  useEffect(() => {
    let live = true;
    setDetail(null);
    setError(null);
    setImageIndex(0);
    setLoading('Loading case…');
    call('cases:get', { caseId })
      .then((d) => {
        if (!live) return;
        if (d.images.length === 0) {
          setLoading(null);
          setError('This case has no images.');
        }
        setDetail(d);
      })
      .catch((e) => {
        if (!live) return;
        setLoading(null);
        setError(`The case could not be opened: ${errorMessage(e)}`);
      });
    return () => {
      live = false;
    };
  }, [caseId, reloadKey]);

  const info: ImageInfo | null = detail?.images[imageIndex] ?? null;
  const editor = useEditor(info);
  const ed = editor.controller;
  // Signing waits for the open image's last edit to be stored: what is signed is what is on screen.
  const flushEdits = useCallback(async () => {
    await ed?.flush();
  }, [ed]);

  // The pixels of the shown image, and an engine for them.
  useEffect(() => {
    if (!info) return;
    let live = true;
    let created: ViewerEngine | null = null;
    setLoading(`Loading image (${info.columns} × ${info.rows})…`);
    call('images:pixels', { imageId: info.imageId })
      .then((res) => {
        if (!live) return;
        const px = toUint16(res.bytes, info.rows * info.columns);
        created = new ViewerEngine(info, px, emitRendered, setView);
        engineRef.current = created;
        created.attach(nodes.current);
        created.resize(sizeRef.current.w, sizeRef.current.h);
        setEngine(created);
        setLoading(null);
      })
      .catch((e) => {
        if (!live) return;
        setLoading(null);
        setError(`The image could not be loaded: ${errorMessage(e)}`);
      });
    return () => {
      live = false;
      created?.dispose();
      if (engineRef.current === created) engineRef.current = null;
      setEngine(null);
      setView(null);
    };
  }, [info]);

  const onNodes = useCallback((n: StageNodes | null) => {
    nodes.current = n;
    engineRef.current?.attach(n);
    setNodesReady((k) => k + 1);
  }, []);

  // The editor's layers over the image: created once the image, its annotations and the stage are all there.
  useEffect(() => {
    const n = nodes.current;
    if (!engine || !ed || !n) return;
    const overlay = new OverlayRenderer({ masks: n.masks, marks: n.marks }, ed.width, ed.height);
    overlay.setDoc(ed.doc, ed.selected);
    overlay.setEvidence(editor.evidence);
    // A flagged image with no box: where to look is the model's strongest regions and its evidence map.
    overlay.setCandidates(editor.candidates);
    if (editor.lowConfidence && editor.evidence) ed.revealLayer('heatmap');
    overlay.setVisibility(ed.layers, ed.heatmapOpacity);
    overlay.repaintMasks(null, false);
    const input = new ToolInput(ed, overlay);
    input.onNotice = (m) => setNotice(m);
    tools.current = input;
    engine.setOverlay((t) => overlay.setTransform(t));
    const offDoc = ed.onDocChange((c) => {
      if (c.findings) overlay.setDoc(ed.doc, ed.selected);
      // Mask changes are repainted where they happened, now, so that a stroke is on screen when its event ends.
      const boxes = c.masks.map((m) => (ed.doc.masks[m.maskId] || c.cause !== 'edit' ? m.box : null));
      if (boxes.length) {
        if (boxes.some((b) => b === null)) overlay.repaintMasks(null);
        else for (const b of boxes) overlay.repaintMasks(b);
      }
    });
    let shown = { selected: ed.selected, layers: ed.layers, opacity: ed.heatmapOpacity };
    const offUi = ed.subscribe(() => {
      if (ed.selected !== shown.selected) overlay.setDoc(ed.doc, ed.selected);
      if (ed.layers !== shown.layers || ed.heatmapOpacity !== shown.opacity) overlay.setVisibility(ed.layers, ed.heatmapOpacity);
      shown = { selected: ed.selected, layers: ed.layers, opacity: ed.heatmapOpacity };
    });
    return () => {
      offDoc();
      offUi();
      engine.setOverlay(null);
      overlay.dispose();
      n.masks.batchDraw();
      n.marks.batchDraw();
      if (tools.current === input) tools.current = null;
    };
  }, [engine, ed, editor.evidence, editor.candidates, editor.lowConfidence, nodesReady]);

  // A notice (a fill that found nothing to fill) goes away after a while.
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(t);
  }, [notice]);

  // The stage follows the size of its box.
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => {
      const w = Math.floor(el.clientWidth);
      const h = Math.floor(el.clientHeight);
      sizeRef.current = { w, h };
      setSize((s) => (s.w === w && s.h === h ? s : { w, h }));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // Resize the engine after React has resized the Konva stage.
  useEffect(() => {
    engineRef.current?.resize(size.w, size.h);
  }, [size, engine]);

  // Wheel zoom anywhere over the viewer (toolbar included), around the cursor when it is over the image area.
  useEffect(() => {
    const el = root.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      const eng = engineRef.current;
      if (!eng || !wrap.current) return;
      e.preventDefault();
      const r = wrap.current.getBoundingClientRect();
      let x = e.clientX - r.left;
      let y = e.clientY - r.top;
      if (x < 0 || y < 0 || x > r.width || y > r.height) {
        x = r.width / 2;
        y = r.height / 2;
      }
      const px = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaMode === 2 ? e.deltaY * r.height : e.deltaY;
      const factor = Math.pow(2, -Math.max(-1200, Math.min(1200, px)) / 300);
      eng.zoomBy(factor, x, y);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, []);

  const applyPreset = useCallback((value: string) => {
    const eng = engineRef.current;
    if (!eng) return;
    if (value === 'full') {
      const { lo, hi } = eng.modalityRange();
      eng.setWindow((lo + hi) / 2 + 0.5, Math.max(1, hi - lo + 1));
    } else {
      const p = eng.info.windows[Number(value)];
      if (p) eng.setWindow(p.center, p.width);
    }
  }, []);

  // Keyboard: every action from the reader's key map (editor/keymap.ts; `?` lists them), Space (held) pans, and
  // Escape cancels what is in progress, then clears the selection, then goes back to the worklist.
  useEffect(() => {
    if (!active) return;
    const down = (e: KeyboardEvent) => {
      if (isTyping(e.target) || helpOpen) return;
      const eng = engineRef.current;
      const c = ed;
      if (e.key === 'Escape') {
        e.preventDefault();
        if (tools.current?.cancel()) return;
        if (c?.selected) {
          c.select(null);
          return;
        }
        onBack();
        return;
      }
      if (e.key === ' ' && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        setSpaceHeld(true);
        return;
      }
      if (e.key === 'Enter' && c?.tool === 'lasso' && tools.current?.closePolygon(e.shiftKey)) {
        e.preventDefault();
        return;
      }
      const action = actionFor(keymap, e);
      if (!action) return;
      if (e.repeat && !['undo', 'redo', 'nudgeLeft', 'nudgeRight', 'nudgeUp', 'nudgeDown', 'brushSmaller', 'brushLarger'].includes(action)) return;
      if (!runAction(action, e.shiftKey, eng, c)) return;
      e.preventDefault();
    };
    const runAction = (action: Action, shift: boolean, eng: ViewerEngine | null, c: typeof ed): boolean => {
      const tool = TOOL_ACTIONS[action];
      if (tool) {
        if (!c || (!c.editable && tool !== 'view' && tool !== 'select')) return false;
        c.setTool(tool);
        return true;
      }
      switch (action) {
        case 'invert':
          eng?.toggleInvert();
          return !!eng;
        case 'fit':
          eng?.fit();
          return !!eng;
        case 'oneToOne':
          eng?.oneToOne();
          return !!eng;
        case 'reset':
          eng?.reset();
          return !!eng;
        case 'help':
          setHelpOpen(true);
          return true;
      }
      if (!c) return false;
      const sel = c.selected ? c.doc.findings[c.selected] : null;
      switch (action) {
        case 'undo':
          c.undo();
          return true;
        case 'redo':
          c.redo();
          return true;
        case 'brushSmaller':
          c.growBrush(-1);
          return true;
        case 'brushLarger':
          c.growBrush(1);
          return true;
        case 'cycleTarget':
          c.setTarget(TARGETS[(TARGETS.indexOf(c.target) + 1) % TARGETS.length]);
          return true;
        case 'layerBoxes':
          c.toggleLayer('boxes');
          return true;
        case 'layerLungs':
          c.toggleLayer('lungs');
          return true;
        case 'layerLesions':
          c.toggleLayer('lesions');
          return true;
        case 'layerHeatmap':
          if (!editor.evidence) return false;
          c.toggleLayer('heatmap');
          return true;
        case 'acceptAll':
          c.acceptAll();
          return true;
        case 'nextFinding': {
          const ids = Object.keys(c.doc.findings);
          if (!ids.length) return false;
          c.select(ids[(ids.indexOf(c.selected ?? '') + 1) % ids.length]);
          return true;
        }
      }
      if (!sel) return false;
      switch (action) {
        case 'accept':
          c.accept(sel.id);
          return true;
        case 'reject':
          c.reject(sel.id);
          return true;
        case 'deleteBox':
          c.remove(sel.id);
          return true;
        case 'cycleLabel': {
          const labels: string[] = [...LESION_LABELS];
          c.relabel(sel.id, labels[(labels.indexOf(sel.label) + 1) % labels.length]);
          return true;
        }
        case 'nudgeLeft':
        case 'nudgeRight':
        case 'nudgeUp':
        case 'nudgeDown': {
          if (sel.state === 'rejected') return false;
          const step = shift ? 10 : 1;
          const dx = action === 'nudgeLeft' ? -step : action === 'nudgeRight' ? step : 0;
          const dy = action === 'nudgeUp' ? -step : action === 'nudgeDown' ? step : 0;
          c.nudge(sel.id, dx, dy);
          return true;
        }
      }
      return false;
    };
    const up = (e: KeyboardEvent) => {
      if (e.key === ' ') {
        if (!isTyping(e.target)) e.preventDefault();
        setSpaceHeld(false);
      }
    };
    const blur = () => setSpaceHeld(false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [active, onBack, ed, keymap, helpOpen, editor.evidence]);

  // Mouse: left-drag window/level (or pan with the Pan tool or space held), right- or middle-drag pan.
  const stagePoint = (e: React.PointerEvent<HTMLDivElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top, shift: e.shiftKey, alt: e.altKey, time: e.timeStamp, receivedAt: performance.now() };
  };
  const onPointerDown = (e: React.PointerEvent<HTMLDivElement>) => {
    const eng = engineRef.current;
    if (!eng || drag.current) return;
    const pan = e.button === 1 || e.button === 2 || (e.button === 0 && (spaceHeld || eng.panTool));
    if (!pan && e.button !== 0) return;
    e.preventDefault();
    e.currentTarget.focus({ preventScroll: true });
    // With an editing tool, the left button edits (a press on empty space with Select falls through to the viewer).
    const tool = !pan && tools.current?.down(stagePoint(e));
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = {
      mode: tool ? 'tool' : pan ? 'pan' : ed && ed.tool === 'select' ? 'pan' : 'wl',
      pointerId: e.pointerId,
      startX: e.clientX,
      startY: e.clientY,
      lastX: e.clientX,
      lastY: e.clientY,
      c0: eng.center,
      w0: eng.width,
      moved: false,
    };
  };
  const onPointerMove = (e: React.PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    const eng = engineRef.current;
    if (tools.current && (!d || d.mode === 'tool')) tools.current.move(stagePoint(e));
    if (!d || !eng || e.pointerId !== d.pointerId || d.mode === 'tool') return;
    const dx = e.clientX - d.startX;
    const dy = e.clientY - d.startY;
    if (!d.moved) {
      if (Math.abs(dx) + Math.abs(dy) < 1) return;
      d.moved = true;
      eng.beginGesture();
    }
    if (d.mode === 'wl') {
      // Sensitivity follows the image's value range: about 600 screen pixels of drag span the whole range.
      const { lo, hi } = eng.modalityRange();
      const sens = Math.max(hi - lo, 1) / 600;
      eng.setWindow(d.c0 + dy * sens, Math.max(1, d.w0 + dx * sens));
    } else {
      eng.panBy(e.clientX - d.lastX, e.clientY - d.lastY);
    }
    d.lastX = e.clientX;
    d.lastY = e.clientY;
  };
  const endDrag = (e: React.PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || e.pointerId !== d.pointerId) return;
    drag.current = null;
    if (e.currentTarget.hasPointerCapture(e.pointerId)) e.currentTarget.releasePointerCapture(e.pointerId);
    if (d.mode === 'tool') {
      tools.current?.up(stagePoint(e));
      return;
    }
    if (d.moved) engineRef.current?.endGesture();
  };

  const presetValue = (() => {
    if (!info || !view) return 'custom';
    const i = info.windows.findIndex((w) => Math.abs(w.center - view.center) < 0.5 && Math.abs(w.width - view.width) < 0.5);
    return i >= 0 ? String(i) : 'custom';
  })();

  const ps = info?.pixelSpacing;
  const cursor = drag.current?.mode === 'pan' || spaceHeld || view?.panTool ? 'grab' : ed?.tool === 'select' ? 'default' : ed && ed.tool !== 'view' ? 'crosshair' : 'crosshair';

  return (
    <section className="viewer" data-testid="viewer" ref={root} aria-label="Image viewer" hidden={!active}>
      <div className="viewer-toolbar" role="toolbar" aria-label="Viewer tools">
        <button type="button" className="btn" data-testid="viewer-back" onClick={onBack} title="Back to the worklist (Esc)">
          ← Back to worklist
        </button>
        <span className="viewer-title" title={detail?.patientName}>
          {detail ? `${formatPersonName(detail.patientName)} · ${detail.patientId || '—'}` : ''}
        </span>
        {detail && detail.images.length > 1 && (
          <span className="image-picker" aria-label="Images">
            {detail.images.map((im, i) => (
              <button
                key={im.imageId}
                type="button"
                className={`btn btn-small ${i === imageIndex ? 'active' : ''}`}
                aria-pressed={i === imageIndex}
                data-testid="viewer-image"
                onClick={() => setImageIndex(i)}
                title={im.sourceName}
              >
                {i + 1}
                {im.view ? ` ${im.view}` : ''}
              </button>
            ))}
          </span>
        )}
        {detail && <CaseLinks detail={detail} onOpenCase={onOpenCase} />}
        <span className="toolbar-spacer" />
        <label className="field">
          <span>Window</span>
          <select className="input" data-testid="wl-preset" value={presetValue} disabled={!engine} onChange={(e) => applyPreset(e.target.value)}>
            {info?.windows.map((w, i) => (
              <option key={i} value={String(i)}>
                {w.name || `Preset ${i + 1}`} (W {fmt(w.width)} / L {fmt(w.center)})
              </option>
            ))}
            <option value="full">Full range</option>
            <option value="custom" disabled>
              Custom
            </option>
          </select>
        </label>
        <button
          type="button"
          className={`btn ${view?.panTool ? 'active' : ''}`}
          data-testid="tool-pan"
          aria-pressed={!!view?.panTool}
          disabled={!engine}
          onClick={() => engine?.setPanTool(!engine.panTool)}
          title="Pan with the left button (or hold Space, or drag with the right or middle button)"
        >
          Pan
        </button>
        <button type="button" className="btn" data-testid="tool-fit" disabled={!engine} onClick={() => engine?.fit()} title="Fit to window (F)">
          Fit
        </button>
        <button type="button" className="btn" data-testid="tool-one-to-one" disabled={!engine} onClick={() => engine?.oneToOne()} title="One image pixel per screen pixel (1)">
          1:1
        </button>
        <button
          type="button"
          className={`btn ${view?.invert ? 'active' : ''}`}
          data-testid="tool-invert"
          aria-pressed={!!view?.invert}
          disabled={!engine}
          onClick={() => engine?.toggleInvert()}
          title="Invert grey levels (I)"
        >
          Invert
        </button>
        <button type="button" className="btn" data-testid="tool-reset" disabled={!engine} onClick={() => engine?.reset()} title="Reset window, zoom and invert (R)">
          Reset
        </button>
        <ExportMenu caseId={caseId} imageId={info?.imageId ?? null} noticeSlot={noticeSlot} />
      </div>
      <SignoffBar caseId={caseId} flushEdits={flushEdits} />
      <ArchiveResults caseId={caseId} />
      {ed && <EditorBar controller={ed} keymap={keymap} hasHeatmap={!!editor.evidence} onHelp={() => setHelpOpen(true)} onReload={editor.reload} notice={notice} />}
      {editor.error && (
        <div className="inline-error" role="alert" data-testid="editor-error">
          {editor.error}{' '}
          <button type="button" className="btn btn-small" onClick={editor.reload}>
            Retry
          </button>
        </div>
      )}
      <div className="viewer-body">
        <div
          className="viewer-canvas"
          data-testid="viewer-canvas"
          ref={wrap}
          tabIndex={-1}
          style={{ cursor }}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={endDrag}
          onPointerCancel={endDrag}
          onPointerLeave={() => tools.current?.leave()}
          onLostPointerCapture={endDrag}
          onContextMenu={(e) => e.preventDefault()}
          onMouseDown={(e) => {
            if (e.button === 1) e.preventDefault(); // no autoscroll
          }}
          onAuxClick={(e) => e.preventDefault()}
        >
          <MemoStage width={size.w} height={size.h} onNodes={onNodes} />
        </div>
        <div className="viewer-notices" ref={setNoticeSlot} />
        {info && <AiPanel caseId={caseId} imageId={info.imageId} editor={ed} />}
        {info && <ReadingDock caseId={caseId} imageId={info.imageId} />}
        {helpOpen && <ShortcutHelp keymap={keymap} onChange={setKeymap} onClose={() => setHelpOpen(false)} />}
        {detail && info && view && (
          <div className="viewer-overlay" aria-hidden={false}>
            <div className="ov ov-tl">
              <div className="ov-strong" data-testid="overlay-patient">
                {formatPersonName(detail.patientName)}
              </div>
              <div>ID {detail.patientId || '—'}</div>
              <div>
                {formatDate(detail.studyDate)}
                {detail.patientSex ? ` · ${detail.patientSex}` : ''}
              </div>
            </div>
            <div className="ov ov-tr">
              <div>{[info.modality, info.view].filter(Boolean).join(' · ') || '—'}</div>
              <div data-testid="image-size">
                {info.columns} × {info.rows}
              </div>
              {ps && <div>{`${ps[0].toFixed(3)} × ${ps[1].toFixed(3)} mm`}</div>}
              {info.photometric === 'MONOCHROME1' && <div>MONOCHROME1</div>}
            </div>
            <div className="ov ov-bl">
              <div data-testid="wl-readout">
                W: {fmt(view.width)} L: {fmt(view.center)}
                {presetValue !== 'custom' ? ` · ${info.windows[Number(presetValue)]?.name ?? ''}` : ''}
              </div>
              {presetValue === String(info.initialWindow.index) && info.initialWindow.source === 'auto' && info.windows.length > 2 && (
                <div data-testid="wl-initial-reason" className="ov-note">
                  {info.initialWindow.reason}
                </div>
              )}
              <div>
                Zoom <span data-testid="zoom-readout">{Math.round(view.zoom * 100)}%</span>
                {view.fitted ? ' (fit)' : ''}
                {view.invert ? ' · inverted' : ''}
              </div>
            </div>
          </div>
        )}
        {loading && !error && (
          <div className="viewer-status" role="status">
            <span className="spinner" /> {loading}
          </div>
        )}
        {error && (
          <div className="viewer-status inline-error" role="alert" data-testid="viewer-error">
            {error}
            <button type="button" className="btn btn-small" onClick={() => setReloadKey((k) => k + 1)}>
              Retry
            </button>
            <button type="button" className="btn btn-small" onClick={onBack}>
              Back to worklist
            </button>
          </div>
        )}
      </div>
    </section>
  );
}

/**
 * A follow-up case says which signed case it follows (an image of the study arrived after that one was signed, so
 * it is read and signed here, not there); a signed case with follow-ups says where the later images went.
 */
function CaseLinks(props: { detail: CaseDetail; onOpenCase?: (caseId: number) => void }) {
  const { detail, onOpenCase } = props;
  const link = (id: number) =>
    onOpenCase ? (
      <button type="button" className="btn btn-small btn-link" data-testid="case-link" onClick={() => onOpenCase(id)}>
        case {id}
      </button>
    ) : (
      <span>case {id}</span>
    );
  if (detail.followsCaseId !== null) {
    return (
      <span className="case-link follow-up" data-testid="follow-up-banner" title="The signed report of the earlier case does not include the images of this case.">
        Follow-up of signed {link(detail.followsCaseId)}: image(s) that arrived after it was signed
      </span>
    );
  }
  if (detail.followUpCaseIds.length) {
    return (
      <span className="case-link" data-testid="follow-ups-banner" title="Images of this study that arrived after signing are read and signed in their own case.">
        Later images: {detail.followUpCaseIds.map((id, i) => (
          <span key={id}>
            {i > 0 ? ', ' : ''}
            {link(id)}
          </span>
        ))}
      </span>
    );
  }
  return null;
}
