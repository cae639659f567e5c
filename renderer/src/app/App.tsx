// The application shell: a header with the import bar, the worklist, and the viewer over it when a case is open
// (the worklist stays mounted, so its scroll position and selection survive a reading). Files and folders dropped
// anywhere on the window are imported.
import { useCallback, useEffect, useRef, useState } from 'react';
import { call, errorMessage } from '../api';
import { ImportBar, ImportResults } from '../importing/ImportBar';
import { dragHasFiles, fromDrop } from '../importing/collect';
import { useImport } from '../importing/useImport';
import { Worklist } from '../worklist/Worklist';
import { Viewer } from '../viewer/Viewer';
import { Toasts, useToasts } from './Toasts';
import { AnalysisStatus } from '../analysis/AnalysisStatus';
import { UserMenu } from '../accounts/UserMenu';
import { SettingsDialog } from '../settings/SettingsDialog';
import { SiteCalibration } from '../site/SiteCalibration';
import { useSession } from '../accounts/session';

/**
 * The open case is kept in the address (#case=N&user=U), so that a reload of the page opens it again for the user who
 * had it open; another user signing in at the station starts at the worklist.
 */
function caseInAddress(userId: number | undefined): number | null {
  const m = /^#case=(\d+)&user=(\d+)$/.exec(window.location.hash);
  return m && Number(m[2]) === userId ? Number(m[1]) : null;
}

function putCaseInAddress(caseId: number | null, userId: number | undefined): void {
  const hash = caseId === null || userId === undefined ? '' : `#case=${caseId}&user=${userId}`;
  window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}${hash}`);
}

export function App() {
  const { session } = useSession();
  const userId = session.user?.id;
  const [openCase, setOpenCase] = useState<number | null>(() => caseInAddress(userId));
  const [refreshSignal, setRefreshSignal] = useState(0);
  const [dragging, setDragging] = useState(false);
  const [appInfo, setAppInfo] = useState<string>('');
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [siteOpen, setSiteOpen] = useState(false);
  // the calibration view is for administrators and lead radiologists
  const mayCalibrate = session.user?.role === 'administrator' || (session.user?.role === 'radiologist' && session.user.lead);
  const toasts = useToasts();
  const { state: importState, start, cancel, dismiss } = useImport(() => setRefreshSignal((n) => n + 1));
  const dragDepth = useRef(0);

  useEffect(() => {
    call('app:info', {})
      .then((i) => setAppInfo(`${i.name} ${i.version}`))
      .catch((e) => toasts.push(`The workstation service did not answer: ${errorMessage(e)}`));
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  // Drag and drop of files and folders onto the window.
  useEffect(() => {
    const enter = (e: DragEvent) => {
      if (!dragHasFiles(e.dataTransfer)) return;
      e.preventDefault();
      dragDepth.current++;
      setDragging(true);
    };
    const over = (e: DragEvent) => {
      if (!dragHasFiles(e.dataTransfer)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const leave = (e: DragEvent) => {
      if (!dragHasFiles(e.dataTransfer)) return;
      dragDepth.current = Math.max(0, dragDepth.current - 1);
      if (dragDepth.current === 0) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault(); // never let the browser navigate to a dropped file
      dragDepth.current = 0;
      setDragging(false);
      if (!e.dataTransfer) return;
      fromDrop(e.dataTransfer)
        .then(({ files, errors }) => {
          for (const err of errors) toasts.push(`Could not read ${err}`);
          if (files.length === 0 && errors.length === 0) toasts.push('Nothing to import in what was dropped.');
          start(files);
        })
        .catch((err) => toasts.push(`The dropped items could not be read: ${errorMessage(err)}`));
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [start, toasts]);

  useEffect(() => putCaseInAddress(openCase, userId), [openCase, userId]);
  const back = useCallback(() => setOpenCase(null), []);
  const open = useCallback((caseId: number) => setOpenCase(caseId), []);

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand" title={appInfo}>
          CXR Workstation
        </div>
        <ImportBar state={importState} onFiles={start} onCancel={cancel} />
        <span className="toolbar-spacer" />
        <AnalysisStatus />
        {mayCalibrate && (
          <button type="button" className="btn btn-small" onClick={() => setSiteOpen(true)} data-testid="site-button">
            Site calibration
          </button>
        )}
        <button type="button" className="btn btn-small" onClick={() => setSettingsOpen(true)} data-testid="settings-button">
          Settings
        </button>
        <UserMenu />
      </header>
      <main className="app-main">
        <ImportResults state={importState} onDismiss={dismiss} onOpenCase={open} />
        <Worklist onOpen={open} refreshSignal={refreshSignal} active={openCase === null} />
        {openCase !== null && <Viewer key={openCase} caseId={openCase} onBack={back} onOpenCase={open} active />}
      </main>
      {dragging && (
        <div className="drop-overlay" data-testid="drop-overlay">
          <div className="drop-box">Drop files or folders to import</div>
        </div>
      )}
      <Toasts toasts={toasts} />
      {settingsOpen && <SettingsDialog onClose={() => setSettingsOpen(false)} />}
      {siteOpen && mayCalibrate && <SiteCalibration onClose={() => setSiteOpen(false)} />}
    </div>
  );
}
