// The panel beside the image that holds the report, the case's reference results and the question box. It folds away to keep the image clear
// (folded until the reader first opens it; the choice is remembered on this computer).
import { useState } from 'react';
import { ReportPanel } from './ReportPanel';
import { VqaBox } from '../vqa/VqaBox';
import { ReferenceResults } from '../site/ReferenceResults';
import './report.css';

const OPEN_KEY = 'cxr.readingDock.open';

function remembered(): boolean {
  try {
    return localStorage.getItem(OPEN_KEY) === '1';
  } catch {
    return false;
  }
}

export function ReadingDock({ caseId, imageId }: { caseId: number; imageId: number }) {
  const [open, setOpen] = useState(remembered);
  const toggle = () =>
    setOpen((o) => {
      try {
        localStorage.setItem(OPEN_KEY, o ? '0' : '1');
      } catch {
        // storage unavailable (private mode): the choice lasts for this session only
      }
      return !o;
    });
  return (
    <aside className={`reading-dock ${open ? '' : 'reading-dock-closed'}`} data-testid="reading-dock" data-open={open ? 'true' : 'false'} aria-label="Report and questions">
      <button type="button" className="btn btn-small reading-dock-toggle" data-testid="reading-dock-toggle" aria-expanded={open} onClick={toggle}>
        {open ? 'Hide report' : 'Report & questions'}
      </button>
      {open && (
        <>
          <ReportPanel caseId={caseId} />
          <ReferenceResults caseId={caseId} />
          <VqaBox key={imageId} imageId={imageId} />
        </>
      )}
    </aside>
  );
}
