// Windowed paging for the worklist: rows are fetched from `cases:list` in pages of PAGE_SIZE as the visible range
// needs them, `total` sizes the scroller, and a refresh (a change event, an import) re-fetches the visible pages
// while the old rows stay on screen, so 50,000 cases neither load at once nor flicker.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { call, errorMessage, type CaseStatus, type OperatingThreshold, type WorklistRow, type WorklistSortKey } from '../api';

export const PAGE_SIZE = 200;

export interface Sort {
  key: WorklistSortKey;
  dir: 'asc' | 'desc';
}
export interface Filter {
  text: string;
  status: CaseStatus | '';
  /** only the cases above the operating threshold (the triage flag) */
  flagged: boolean;
}

interface Page {
  gen: number;
  rows: WorklistRow[];
}

const NULLABLE = new Set<WorklistSortKey>(['studyDate', 'aiScore', 'modality']);

/** The server's order (store.worklistOrder): NULLs last both ways, then the case id in the same direction. */
export function compareRows(sort: Sort): (a: WorklistRow, b: WorklistRow) => number {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return (a, b) => {
    const va = a[sort.key];
    const vb = b[sort.key];
    if (NULLABLE.has(sort.key)) {
      if (va === null && vb !== null) return 1;
      if (vb === null && va !== null) return -1;
    }
    if (va !== vb && va !== null && vb !== null) return (va < vb ? -1 : 1) * sign;
    return (a.caseId - b.caseId) * sign;
  };
}

export function useWorklistData(initialSort: Sort) {
  const [sort, setSortState] = useState<Sort>(initialSort);
  const [filter, setFilterState] = useState<Filter>({ text: '', status: '', flagged: false });
  const [total, setTotal] = useState<number | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  /** the operating threshold in force that the rows' flags compare with */
  const [threshold, setThreshold] = useState<OperatingThreshold | null>(null);
  const pages = useRef(new Map<number, Page>());
  const inflight = useRef(new Set<string>());
  const gen = useRef(0);
  const range = useRef<{ start: number; end: number }>({ start: 0, end: 50 });
  const query = useRef<{ sort: Sort; filter: Filter }>({ sort: initialSort, filter: { text: '', status: '', flagged: false } });
  const totalRef = useRef<number | null>(null);
  const bump = () => setVersion((v) => v + 1);

  const neededPages = () => {
    const first = Math.floor(range.current.start / PAGE_SIZE);
    const last = Math.floor(Math.max(range.current.end, range.current.start) / PAGE_SIZE);
    const out: number[] = [];
    for (let p = Math.max(0, first); p <= last; p++) out.push(p);
    return out;
  };

  const fetchPage = useCallback(async (p: number) => {
    const g = gen.current;
    const key = `${g}:${p}`;
    if (inflight.current.has(key)) return;
    inflight.current.add(key);
    setLoading(true);
    const { sort: s, filter: f } = query.current;
    try {
      const res = await call('cases:list', {
        sort: s,
        filter: { text: f.text.trim() || undefined, status: f.status || undefined, flagged: f.flagged || undefined },
        offset: p * PAGE_SIZE,
        limit: PAGE_SIZE,
      });
      if (g !== gen.current) return;
      // The first page of a new generation replaces what was on screen; stale pages outside the view are dropped.
      const needed = new Set(neededPages());
      for (const [q, page] of pages.current) if (page.gen !== g && !needed.has(q)) pages.current.delete(q);
      pages.current.set(p, { gen: g, rows: res.rows });
      setThreshold((t) => (t && res.threshold && t.value === res.threshold.value && t.label === res.threshold.label && t.headId === res.threshold.headId ? t : res.threshold));
      if (res.total !== totalRef.current) {
        totalRef.current = res.total;
        setTotal(res.total);
        // Pages past the new end are gone.
        for (const q of [...pages.current.keys()]) if (q * PAGE_SIZE >= res.total && q !== 0) pages.current.delete(q);
      }
      setError(null);
      bump();
    } catch (e) {
      if (g === gen.current) setError(`The worklist could not be loaded: ${errorMessage(e)}`);
    } finally {
      inflight.current.delete(key);
      if ([...inflight.current].every((k) => !k.startsWith(`${gen.current}:`))) setLoading(false);
    }
  }, []);

  const ensure = useCallback(() => {
    for (const p of neededPages()) {
      const page = pages.current.get(p);
      if (!page || page.gen !== gen.current) void fetchPage(p);
    }
  }, [fetchPage]);

  /** Re-read the visible pages (keeping the old rows until the new ones arrive). */
  const refresh = useCallback(() => {
    gen.current++;
    ensure();
  }, [ensure]);

  // A new sort or filter: a new generation, applied inside the event that asked for it (one render, no flash of the
  // old order). When the whole result is loaded and only the order changed, it is re-sorted here at once, in the
  // server's order, while the server's answer is on its way.
  const apply = useCallback(
    (next: { sort: Sort; filter: Filter }) => {
      const prev = query.current;
      const sameSort = prev.sort.key === next.sort.key && prev.sort.dir === next.sort.dir;
      const sameFilter = prev.filter.text === next.filter.text && prev.filter.status === next.filter.status && prev.filter.flagged === next.filter.flagged;
      if (sameSort && sameFilter) return;
      query.current = next;
      gen.current++;
      const all = [...pages.current.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, pg]) => pg.rows);
      if (sameFilter && totalRef.current !== null && all.length === totalRef.current && totalRef.current <= PAGE_SIZE * 5) {
        const sorted = all.sort(compareRows(next.sort));
        pages.current.clear();
        for (let i = 0; i * PAGE_SIZE < sorted.length; i++) pages.current.set(i, { gen: gen.current - 1, rows: sorted.slice(i * PAGE_SIZE, (i + 1) * PAGE_SIZE) });
      } else {
        pages.current.clear();
        if (!sameFilter) {
          totalRef.current = null;
          setTotal(null);
        }
      }
      // A new query starts at the top.
      range.current = { start: 0, end: Math.max(0, range.current.end - range.current.start) };
      setSortState(next.sort);
      setFilterState(next.filter);
      bump();
      ensure();
    },
    [ensure],
  );

  const changeSort = useCallback((f: (s: Sort) => Sort) => apply({ sort: f(query.current.sort), filter: query.current.filter }), [apply]);
  const changeFilter = useCallback((f: (s: Filter) => Filter) => apply({ sort: query.current.sort, filter: f(query.current.filter) }), [apply]);

  // The first page.
  useEffect(() => {
    ensure();
  }, [ensure]);

  const setRange = useCallback(
    (start: number, end: number) => {
      if (range.current.start === start && range.current.end === end) return;
      range.current = { start, end };
      ensure();
    },
    [ensure],
  );

  const rowAt = useCallback((i: number): WorklistRow | undefined => {
    const page = pages.current.get(Math.floor(i / PAGE_SIZE));
    return page?.rows[i % PAGE_SIZE];
  }, []);

  return useMemo(
    () => ({ sort, filter, changeSort, changeFilter, total, rowAt, setRange, refresh, error, loading, version, threshold }),
    [sort, filter, changeSort, changeFilter, total, rowAt, setRange, refresh, error, loading, version, threshold],
  );
}
