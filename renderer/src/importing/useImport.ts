// The import batch, driven from the renderer: one file at a time (read its bytes, call `import:file`), so that
// memory stays bounded by one file, progress is exact and Cancel takes effect after the current file. A failure is
// recorded and the batch goes on. Files dropped while a batch runs join its queue.
import { useCallback, useRef, useState } from 'react';
import { call, errorCode, errorMessage, MAX_IMPORT_BYTES } from '../api';
import type { Candidate } from './collect';

export type ImportResult =
  | { path: string; status: 'imported'; caseId: number; imageId: number; followsCaseId?: number | null }
  | { path: string; status: 'duplicate'; caseId: number; imageId: number; reason: string }
  | { path: string; status: 'error'; code: string; message: string }
  | { path: string; status: 'cancelled' };

export interface ImportState {
  running: boolean;
  /** files done so far in this batch */
  done: number;
  total: number;
  current: string | null;
  cancelling: boolean;
  results: ImportResult[];
  /** the batch finished (or was cancelled) and its results are on screen */
  finished: boolean;
}

const idle: ImportState = { running: false, done: 0, total: 0, current: null, cancelling: false, results: [], finished: false };

function mb(n: number): string {
  return `${(n / 2 ** 20).toFixed(0)} MB`;
}

export function useImport(onImported: () => void) {
  const [state, setState] = useState<ImportState>(idle);
  const queue = useRef<Candidate[]>([]);
  const running = useRef(false);
  const cancel = useRef(false);
  const onImportedRef = useRef(onImported);
  onImportedRef.current = onImported;

  const run = useCallback(async () => {
    running.current = true;
    cancel.current = false;
    const results: ImportResult[] = [];
    let done = 0;
    let changed = false;
    const publish = (current: string | null) =>
      setState({ running: true, done, total: done + queue.current.length + (current ? 1 : 0), current, cancelling: cancel.current, results: [...results], finished: false });
    try {
      while (queue.current.length > 0) {
        if (cancel.current) {
          for (const c of queue.current) results.push({ path: c.path, status: 'cancelled' });
          queue.current = [];
          break;
        }
        const c = queue.current.shift()!;
        publish(c.path);
        const result = await importOne(c);
        results.push(result);
        if (result.status === 'imported') changed = true;
        done++;
        // Refresh the worklist every so often in long batches (the change event also does it).
        if (changed && done % 25 === 0) onImportedRef.current();
      }
    } finally {
      running.current = false;
      setState({ running: false, done, total: results.length, current: null, cancelling: false, results, finished: true });
      onImportedRef.current();
    }
  }, []);

  const start = useCallback(
    (files: Candidate[]) => {
      if (files.length === 0) return;
      queue.current.push(...files);
      if (running.current) {
        setState((s) => ({ ...s, total: s.total + files.length }));
        return;
      }
      void run();
    },
    [run],
  );

  const requestCancel = useCallback(() => {
    cancel.current = true;
    setState((s) => ({ ...s, cancelling: true }));
  }, []);

  const dismiss = useCallback(() => {
    if (!running.current) setState(idle);
  }, []);

  return { state, start, cancel: requestCancel, dismiss };
}

async function importOne(c: Candidate): Promise<ImportResult> {
  const { file, path } = c;
  if (file.size === 0) return { path, status: 'error', code: 'EMPTY_FILE', message: `${file.name} is empty (0 bytes).` };
  if (file.size > MAX_IMPORT_BYTES)
    return { path, status: 'error', code: 'FILE_TOO_LARGE', message: `${file.name} is ${mb(file.size)}; the limit is ${mb(MAX_IMPORT_BYTES)}. Not uploaded.` };
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    return { path, status: 'error', code: 'READ_FAILED', message: `Could not read the file: ${errorMessage(e)}` };
  }
  try {
    const out = await call('import:file', { name: path, bytes });
    if (out.status === 'imported') return { path, status: 'imported', caseId: out.caseId, imageId: out.imageId, followsCaseId: out.followsCaseId ?? null };
    return { path, status: 'duplicate', caseId: out.caseId, imageId: out.imageId, reason: out.reason };
  } catch (e) {
    return { path, status: 'error', code: errorCode(e), message: errorMessage(e) };
  }
}
