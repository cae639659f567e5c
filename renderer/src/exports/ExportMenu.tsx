// Export of the open case: a menu of the formats (PDF report, DICOM SR, DICOM SEG, PDF in DICOM, JSON). The station
// builds the file (exports:build) and the page saves it as a download, in the browser and in Electron's window
// alike (Electron asks where to save it). What the reader of the file should know (a draft, no report yet, an
// identity generated for a PNG import) is shown in `noticeSlot`, over the top of the image, where it covers no
// control (under the menu it covered the sign-off bar's buttons).
import { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { call, errorMessage } from '../api';
import { EXPORT_FORMAT_NAMES, type ExportFile, type ExportFormat } from '../../../electron/contract/index';
import './exports.css';

const FORMATS = Object.keys(EXPORT_FORMAT_NAMES) as ExportFormat[];

/** Save bytes as a file through the browser's download (a blob URL on a temporary link). */
export function saveAs(file: Pick<ExportFile, 'bytes' | 'fileName' | 'mediaType'>): void {
  const blob = new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.mediaType });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.fileName;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke once the download has taken the blob.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function ExportMenu(props: { caseId: number; imageId: number | null; noticeSlot: HTMLElement | null }) {
  const { caseId, imageId, noticeSlot } = props;
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string; notes: string[] } | null>(null);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const esc = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        setOpen(false);
      }
    };
    window.addEventListener('mousedown', close);
    window.addEventListener('keydown', esc, true);
    return () => {
      window.removeEventListener('mousedown', close);
      window.removeEventListener('keydown', esc, true);
    };
  }, [open]);

  useEffect(() => setResult(null), [caseId]);

  const run = async (format: ExportFormat) => {
    setOpen(false);
    setBusy(format);
    setResult(null);
    try {
      const file = await call('exports:build', imageId === null ? { caseId, format } : { caseId, format, imageId });
      saveAs(file);
      setResult({ ok: true, text: `Saved ${file.fileName} (${Math.max(1, Math.round(file.bytes.byteLength / 1024))} KB)`, notes: file.notes });
    } catch (e) {
      setResult({ ok: false, text: `Export failed: ${errorMessage(e)}`, notes: [] });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="export-menu" ref={root}>
      <button
        type="button"
        className="btn"
        data-testid="export-button"
        aria-haspopup="menu"
        aria-expanded={open}
        disabled={busy !== null}
        onClick={() => setOpen((o) => !o)}
        title="Save this case as a PDF report, DICOM SR, DICOM SEG or JSON"
      >
        {busy ? 'Exporting…' : 'Export ▾'}
      </button>
      {open && (
        <div className="export-list" role="menu" data-testid="export-list">
          {FORMATS.map((f) => (
            <button key={f} type="button" role="menuitem" className="export-item" data-testid={`export-${f}`} onClick={() => void run(f)}>
              {EXPORT_FORMAT_NAMES[f]}
            </button>
          ))}
        </div>
      )}
      {result &&
        noticeSlot &&
        createPortal(
          <div className={`export-result ${result.ok ? '' : 'error'}`} role="status" data-testid="export-result">
            <span>{result.text}</span>
            {result.notes.map((n, i) => (
              <span key={i} className="export-note">
                {n}
              </span>
            ))}
            <button type="button" className="btn btn-small" aria-label="Dismiss" onClick={() => setResult(null)}>
              ×
            </button>
          </div>,
          noticeSlot,
        )}
    </div>
  );
}
