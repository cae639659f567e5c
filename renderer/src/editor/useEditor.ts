// Opens an image's annotations for editing: the latest saved version (or the AI's proposal), the model's evidence
// heatmap, and an EditorController that saves through the API. A reading that arrives while an untouched image is
// open is loaded without a reopen.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { call, errorMessage, onEvent, type ImageInfo } from '../api';
import type { Candidate, Evidence } from '../canvas/overlays';
import { EditorController } from './controller';

export interface EditorState {
  controller: EditorController | null;
  evidence: Evidence | null;
  /** the model's strongest regions when it flagged the image without proposing any box (low confidence) */
  candidates: readonly Candidate[];
  /** flagged, and no box reached the display score: show the candidates and the evidence map */
  lowConfidence: boolean;
  error: string | null;
}

const NONE: EditorState = { controller: null, evidence: null, candidates: [], lowConfidence: false, error: null };

export function useEditor(info: ImageInfo | null): EditorState & { reload: () => void } {
  const [state, setState] = useState<EditorState>(NONE);
  const [reloadKey, setReloadKey] = useState(0);
  useEffect(() => {
    if (!info) return;
    let live = true;
    let current: EditorController | null = null;
    const imageId = info.imageId;
    const load = async () => {
      const [saved, analysis] = await Promise.all([call('annotations:get', { imageId }), call('analysis:get', { imageId })]);
      if (!live) return;
      const controller = new EditorController(saved, { width: info.columns, height: info.rows }, {
        save: async (payload) => {
          const r = await call('annotations:save', { imageId, ...payload });
          return { version: r.version, savedAt: r.savedAt, author: r.author, findings: r.findings };
        },
      });
      current = controller;
      const a = analysis.analysis;
      // flagged by the threshold in force (as the AI panel and the worklist say), and no box reached the display score
      const lowConfidence = !!a && a.inForce?.flagged === true && a.boxes.length === 0;
      setState({ controller, evidence: a?.evidence ?? null, candidates: lowConfidence ? a.candidates : [], lowConfidence, error: null });
    };
    setState(NONE);
    load().catch((e) => live && setState({ ...NONE, error: `The annotations could not be opened: ${errorMessage(e)}` }));
    const off = onEvent('analysis:onProgress', () => {
      const c = current;
      if (c && c.version === 0 && !c.history.canUndo && !c.hasUnsavedChanges && Object.keys(c.doc.findings).length === 0) {
        call('analysis:get', { imageId })
          .then((r) => {
            if (live && r.analysis && current === c && !c.history.canUndo) load().catch(() => undefined);
          })
          .catch(() => undefined);
      }
    });
    // Saves take milliseconds, but a window closed in the middle of one would lose it: ask first.
    const beforeUnload = (e: BeforeUnloadEvent) => {
      if (current?.hasUnsavedChanges) e.preventDefault();
    };
    window.addEventListener('beforeunload', beforeUnload);
    return () => {
      live = false;
      off();
      window.removeEventListener('beforeunload', beforeUnload);
      // Whatever is still unsaved goes to the store when the image is closed.
      void current?.flush();
    };
  }, [info, reloadKey]);
  return { ...state, reload: () => setReloadKey((k) => k + 1) };
}

/** Re-render when the controller's shown state changes. */
export function useControllerSeq(c: EditorController | null): number {
  return useSyncExternalStore(
    (cb) => (c ? c.subscribe(cb) : () => undefined),
    () => (c ? c.seq : -1),
  );
}
