// The import controls: "Import files", "Import folder", the progress of the running batch and its results.
import { useEffect, useRef } from 'react';
import { fromFileList, type Candidate } from './collect';
import type { ImportResult, ImportState } from './useImport';

const ACCEPT = '.dcm,.dicom,.png,.jpg,.jpeg,application/dicom,image/png,image/jpeg';

export function ImportBar(props: { state: ImportState; onFiles: (files: Candidate[]) => void; onCancel: () => void }) {
  const { state, onFiles, onCancel } = props;
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    // Not in React's typings; set as attributes so that the picker chooses folders and lists their files recursively.
    folderInput.current?.setAttribute('webkitdirectory', '');
    folderInput.current?.setAttribute('directory', '');
  }, []);

  const take = (input: HTMLInputElement | null) => {
    if (!input) return;
    const files = fromFileList(input.files);
    input.value = ''; // picking the same files again must fire `change` again
    onFiles(files);
  };

  return (
    <div className="import-bar">
      <label className="btn btn-primary" title="Import DICOM, PNG or JPEG files">
        Import files
        <input
          data-testid="import-files-input"
          ref={filesInput}
          className="visually-hidden"
          type="file"
          multiple
          accept={ACCEPT}
          onChange={(e) => take(e.currentTarget)}
        />
      </label>
      <label className="btn" title="Import every file in a folder and its sub-folders">
        Import folder
        <input data-testid="import-folder-input" ref={folderInput} className="visually-hidden" type="file" multiple onChange={(e) => take(e.currentTarget)} />
      </label>
      <span className="import-hint">or drop files and folders anywhere</span>
      {state.running && (
        <div className="import-progress" data-testid="import-progress" role="status" aria-live="polite">
          <progress max={Math.max(1, state.total)} value={state.done} />
          <span className="import-progress-text">
            {state.done + (state.current ? 1 : 0)} of {state.total}
            {state.current ? <span className="import-current" title={state.current}> — {state.current}</span> : null}
          </span>
          <button type="button" className="btn btn-small" data-testid="import-cancel" onClick={onCancel} disabled={state.cancelling}>
            {state.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        </div>
      )}
    </div>
  );
}

const STATUS_LABEL: Record<ImportResult['status'], string> = { imported: 'Imported', duplicate: 'Duplicate', error: 'Failed', cancelled: 'Cancelled' };

export function ImportResults(props: { state: ImportState; onDismiss: () => void; onOpenCase: (caseId: number) => void }) {
  const { state, onDismiss, onOpenCase } = props;
  if (!state.finished) return null;
  const count = (s: ImportResult['status']) => state.results.filter((r) => r.status === s).length;
  const failed = count('error');
  return (
    <section className="import-results" data-testid="import-results" aria-label="Import results">
      <header className="import-results-head">
        <strong>Import finished</strong>
        <span className="pill pill-imported">{count('imported')} imported</span>
        <span className="pill pill-duplicate">{count('duplicate')} duplicate</span>
        <span className={`pill ${failed ? 'pill-error' : ''}`}>{failed} failed</span>
        {count('cancelled') > 0 && <span className="pill">{count('cancelled')} cancelled</span>}
        <button type="button" className="btn btn-small push-right" data-testid="import-results-close" onClick={onDismiss}>
          Close
        </button>
      </header>
      <ol className="import-results-list">
        {state.results.map((r, i) => (
          <li key={i} className={`import-result-row status-${r.status}`} data-testid="import-result-row" data-status={r.status} data-file={r.path}>
            <span className={`badge badge-${r.status}`}>{STATUS_LABEL[r.status]}</span>
            <span className="import-result-name" title={r.path}>
              {r.path}
            </span>
            <span className="import-result-detail">
              {r.status === 'duplicate' && r.reason}
              {r.status === 'imported' && r.followsCaseId != null && `Case ${r.followsCaseId} of this study is signed: opened as its follow-up, case ${r.caseId}.`}
              {r.status === 'error' && (
                <>
                  <code>{r.code}</code> {r.message}
                </>
              )}
              {r.status === 'cancelled' && 'Not imported: the batch was cancelled.'}
            </span>
            {(r.status === 'imported' || r.status === 'duplicate') && (
              <button type="button" className="btn btn-link" onClick={() => onOpenCase(r.caseId)}>
                Open
              </button>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
