// The worklist: a virtualized, server-sorted, server-filtered table of cases. Only the visible rows are in the DOM
// and only the pages they fall in are fetched, so it stays smooth with 50,000 cases.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { CaseStatus, WorklistRow, WorklistSortKey } from '../api';
import { onEvent } from '../api';
import { useWorklistData } from './useWorklistData';
import { formatDate, formatPersonName, formatTimestamp, STATUS_LABELS } from '../app/format';

const ROW_HEIGHT = 34;

interface Column {
  id: string;
  label: string;
  sortKey?: WorklistSortKey;
  /** first click sorts this way */
  firstDir?: 'asc' | 'desc';
  width: string;
  cell: (r: WorklistRow) => React.ReactNode;
  title?: (r: WorklistRow) => string;
  className?: string;
}

const COLUMNS: Column[] = [
  { id: 'patientName', label: 'Patient', sortKey: 'patientName', width: 'minmax(160px, 2fr)', cell: (r) => formatPersonName(r.patientName), title: (r) => r.patientName },
  { id: 'patientId', label: 'Patient ID', sortKey: 'patientId', width: 'minmax(120px, 1.3fr)', cell: (r) => r.patientId || '—', title: (r) => r.patientId },
  { id: 'studyDate', label: 'Study date', sortKey: 'studyDate', firstDir: 'desc', width: '110px', cell: (r) => formatDate(r.studyDate) },
  {
    id: 'modality',
    label: 'Modality / View',
    sortKey: 'modality',
    width: 'minmax(110px, 1fr)',
    cell: (r) => [r.modality, r.view].filter(Boolean).join(' / ') || '—',
    title: (r) => r.description ?? '',
  },
  {
    id: 'status',
    label: 'Status',
    sortKey: 'status',
    width: '150px',
    cell: (r) => (
      <>
        <span className={`status status-${r.status}`}>{STATUS_LABELS[r.status] ?? r.status}</span>
        {r.followsCaseId !== null && (
          <span className="badge badge-follow-up" data-testid="follow-up-badge">
            follow-up of {r.followsCaseId}
          </span>
        )}
      </>
    ),
    title: (r) => (r.followsCaseId !== null ? `Image(s) of this study that arrived after case ${r.followsCaseId} was signed; its signed report does not include them.` : ''),
  },
  {
    id: 'aiScore',
    label: 'AI score',
    sortKey: 'aiScore',
    firstDir: 'desc',
    width: '150px',
    // the score, and beside it the triage flag in words (flagged against the threshold in force, by the pack in use);
    // a site head's score carries a small mark drawn by the style sheet from the row's data attribute
    cell: (r) => <ScoreCell row={r} />,
    title: (r) =>
      r.aiScore === null
        ? r.aiOutOfScope
          ? 'No TB score: the model found no two plausible lung fields (not a frontal chest X-ray?)'
          : 'No AI score yet'
        : `TB score ${r.aiScore.toFixed(1)}${r.aiScoreHead !== null ? ` (site head ${r.aiScoreHead})` : ' (the model pack\'s own)'}${
            r.flagged ? ': flagged, at or above the operating threshold in force' : r.aiScoreStale ? '' : ': not flagged, below the operating threshold in force'
          }${r.aiScoreStale ? '; read by another model version, awaiting the reading by the model in use: not flagged' : ''}`,
  },
  { id: 'images', label: 'Images', width: '84px', className: 'num', cell: (r) => r.imageCount },
  { id: 'importedAt', label: 'Imported', sortKey: 'importedAt', firstDir: 'desc', width: '140px', cell: (r) => formatTimestamp(r.importedAt) },
];

const GRID = COLUMNS.map((c) => c.width).join(' ');

/** The AI score and, beside it, the triage flag in words and a mark (readable without colour). */
function ScoreCell({ row }: { row: WorklistRow }) {
  if (row.aiScore === null) {
    return row.aiOutOfScope ? (
      <span className="score-cell ai-out-of-scope" data-testid="ai-out-of-scope">
        out of scope
      </span>
    ) : (
      <span className="score-cell">—</span>
    );
  }
  return (
    <span className="score-cell" data-testid="worklist-score" data-flagged={row.flagged ? 'true' : 'false'}>
      <span className="num score-value" data-testid="worklist-score-value">{row.aiScore.toFixed(0)}</span>
      {row.flagged && (
        <span className="triage-flag" data-testid="triage-flag">
          <span aria-hidden="true">▲</span> Flagged
        </span>
      )}
    </span>
  );
}

export function Worklist(props: { onOpen: (caseId: number) => void; refreshSignal: number; active: boolean }) {
  const { onOpen, refreshSignal, active } = props;
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<number | null>(null);
  const data = useWorklistData({ key: 'importedAt', dir: 'desc' });
  const { sort, filter, changeSort, changeFilter } = data;
  const scroller = useRef<HTMLDivElement>(null);

  // Debounced text filter.
  useEffect(() => {
    const t = setTimeout(() => changeFilter((f) => ({ ...f, text })), 250);
    return () => clearTimeout(t);
  }, [text, changeFilter]);

  // Refresh on change events (coalesced) and when the app asks (after an import batch).
  const { refresh } = data;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = onEvent('cases:onChanged', () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        refresh();
      }, 150);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [refresh]);
  useEffect(() => {
    if (refreshSignal > 0) refresh();
  }, [refreshSignal, refresh]);

  const count = data.total ?? 0;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const startIndex = items.length ? items[0].index : 0;
  const endIndex = items.length ? items[items.length - 1].index : 0;
  useEffect(() => {
    data.setRange(startIndex, endIndex);
  }, [startIndex, endIndex, data]);

  // Back from the viewer: the keyboard goes to the list again (arrows, Enter).
  const wasActive = useRef(active);
  useEffect(() => {
    if (active && !wasActive.current) scroller.current?.focus({ preventScroll: true });
    wasActive.current = active;
  }, [active]);

  // A new order or filter starts at the top.
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [sort.key, sort.dir, filter.text, filter.status, filter.flagged]);

  const clickHeader = (c: Column) => {
    if (!c.sortKey) return;
    changeSort((s) => (s.key === c.sortKey ? { key: s.key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key: c.sortKey!, dir: c.firstDir ?? 'asc' }));
  };

  const indexOfSelected = useCallback(() => {
    if (selected === null) return -1;
    for (const it of virtualizer.getVirtualItems()) if (data.rowAt(it.index)?.caseId === selected) return it.index;
    return -1;
  }, [selected, virtualizer, data]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (count === 0) return;
    const cur = indexOfSelected();
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? ROW_HEIGHT * 10) / ROW_HEIGHT) - 1);
    let next = -1;
    if (e.key === 'ArrowDown') next = Math.min(count - 1, cur + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, cur < 0 ? 0 : cur - 1);
    else if (e.key === 'PageDown') next = Math.min(count - 1, Math.max(0, cur) + page);
    else if (e.key === 'PageUp') next = Math.max(0, cur - page);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = count - 1;
    else if (e.key === 'Enter') {
      if (selected !== null) {
        e.preventDefault();
        onOpen(selected);
      }
      return;
    } else return;
    e.preventDefault();
    virtualizer.scrollToIndex(next, { align: 'auto' });
    const row = data.rowAt(next);
    if (row) setSelected(row.caseId);
  };

  return (
    <section className="worklist" data-testid="worklist" aria-label="Worklist" data-sort-key={sort.key} data-sort-dir={sort.dir} data-loading={data.loading ? 'true' : 'false'} hidden={!active}>
      <div className="worklist-toolbar">
        <input
          className="input"
          type="search"
          data-testid="worklist-filter"
          placeholder="Filter by patient name or ID"
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-label="Filter by patient name or ID"
          maxLength={200}
        />
        <select
          className="input"
          data-testid="worklist-status-filter"
          value={filter.status}
          onChange={(e) => {
            const status = e.target.value as CaseStatus | '';
            changeFilter((f) => ({ ...f, status }));
          }}
          aria-label="Status filter"
        >
          <option value="">All statuses</option>
          {Object.entries(STATUS_LABELS).map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
        <button
          type="button"
          className={`btn btn-small ${filter.flagged ? 'active' : ''}`}
          aria-pressed={filter.flagged}
          data-testid="worklist-flagged-filter"
          title="Show only the flagged cases: AI TB score at or above the operating threshold in force"
          onClick={() => changeFilter((f) => ({ ...f, flagged: !f.flagged }))}
        >
          <span aria-hidden="true">▲</span> Flagged only
        </button>
        <span className="worklist-count" data-testid="worklist-count">
          {data.total === null ? 'Loading…' : `${data.total.toLocaleString('en-US')} ${data.total === 1 ? 'case' : 'cases'}`}
        </span>
        {data.loading && <span className="spinner" aria-label="Loading" />}
        {data.threshold && (
          <span className="worklist-threshold" data-testid="worklist-threshold" data-source={data.threshold.source} title="Cases whose AI score is at or above it are flagged ▲">
            Flag ▲ at TB score ≥ {data.threshold.value.toFixed(1)} ({data.threshold.label}
            {data.threshold.headId !== null ? `, site head ${data.threshold.headId}` : ''})
          </span>
        )}
      </div>
      {data.error && (
        <div className="inline-error" role="alert" data-testid="worklist-error">
          {data.error}
          <button type="button" className="btn btn-small" onClick={refresh}>
            Retry
          </button>
        </div>
      )}
      <div className="worklist-table" role="grid" aria-rowcount={count + 1} aria-colcount={COLUMNS.length}>
        <div className="worklist-head" role="row" style={{ gridTemplateColumns: GRID }}>
          {COLUMNS.map((c) => {
            const sorted = c.sortKey && sort.key === c.sortKey;
            return (
              <div
                key={c.id}
                role="columnheader"
                className={`worklist-th ${c.sortKey ? 'sortable' : ''} ${c.className ?? ''}`}
                data-testid={c.sortKey ? `worklist-header-${c.sortKey}` : undefined}
                aria-sort={sorted ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                tabIndex={c.sortKey ? 0 : undefined}
                onClick={() => clickHeader(c)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    clickHeader(c);
                  }
                }}
              >
                {c.label}
                {sorted && <span className="sort-arrow">{sort.dir === 'asc' ? '▲' : '▼'}</span>}
              </div>
            );
          })}
        </div>
        <div className="worklist-body" ref={scroller} tabIndex={0} onKeyDown={onKeyDown} aria-label="Cases">
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {items.map((it) => {
              const row = data.rowAt(it.index);
              const style = { transform: `translateY(${it.start}px)`, height: ROW_HEIGHT, gridTemplateColumns: GRID };
              if (!row)
                return (
                  <div key={`p${it.index}`} className="worklist-row placeholder" style={style} data-testid="worklist-row-loading" role="row" aria-rowindex={it.index + 2}>
                    <div className="skeleton" />
                  </div>
                );
              return (
                <div
                  key={row.caseId}
                  role="row"
                  aria-rowindex={it.index + 2}
                  aria-selected={selected === row.caseId}
                  className={`worklist-row ${selected === row.caseId ? 'selected' : ''} ${it.index % 2 ? 'odd' : ''} ${row.flagged ? 'flagged' : ''}`}
                  style={style}
                  data-testid="worklist-row"
                  data-case-id={row.caseId}
                  data-flagged={row.flagged ? 'true' : 'false'}
                  data-site-head={row.aiScoreHead ?? undefined}
                  onClick={() => setSelected(row.caseId)}
                  onDoubleClick={() => onOpen(row.caseId)}
                >
                  {COLUMNS.map((c) => (
                    <div key={c.id} role="gridcell" data-col={c.id} className={`worklist-td ${c.className ?? ''}`} title={c.title?.(row)}>
                      {c.cell(row)}
                    </div>
                  ))}
                </div>
              );
            })}
          </div>
          {data.total === 0 && (
            <div className="worklist-empty">{filter.text || filter.status || filter.flagged ? 'No cases match the filter.' : 'No cases yet. Import DICOM, PNG or JPEG chest X-rays to begin.'}</div>
          )}
        </div>
      </div>
    </section>
  );
}
