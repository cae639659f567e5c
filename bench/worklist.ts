// Worklist query over 50,000 cases: sort + filter + page, as the renderer asks for it.
import { CaseStore } from '../electron/core/store/index';
import { SEED_FLAG_RULE, seedWorklist } from './seed-worklist';
import type { WorklistSortKey } from '../electron/contract/index';
import { tempDbPath } from '../electron/testing/index';
import { median, percentile, report, time } from './stats';

const N = 50_000;

export async function benchWorklist(): Promise<void> {
  const store = CaseStore.open(tempDbPath());
  const t0 = performance.now();
  seedWorklist(store, N);
  console.log(`worklist: ${N} cases inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const cases: { label: string; key: WorklistSortKey; dir: 'asc' | 'desc'; text?: string; status?: 'analyzed'; flagged?: boolean; offset?: number }[] = [
    { label: 'newest first (default)', key: 'importedAt', dir: 'desc' },
    { label: 'triage: AI score desc', key: 'aiScore', dir: 'desc' },
    { label: 'triage: flagged only, AI score desc', key: 'aiScore', dir: 'desc', flagged: true },
    { label: 'flagged only, newest first', key: 'importedAt', dir: 'desc', flagged: true },
    { label: 'patient name asc + text filter', key: 'patientName', dir: 'asc', text: 'kamau' },
    { label: 'study date desc + status filter', key: 'studyDate', dir: 'desc', status: 'analyzed' },
    { label: 'AI score asc + rare text filter', key: 'aiScore', dir: 'asc', text: 'pid14999' },
    { label: 'patient ID, deep page (offset 40000)', key: 'patientId', dir: 'asc', offset: 40_000 },
  ];
  const rows: [string, number, number][] = [];
  for (const c of cases) {
    const run = () => store.findCasesForWorklist({ sort: { key: c.key, dir: c.dir }, filter: { text: c.text, status: c.status, flagged: c.flagged }, offset: c.offset ?? 0, limit: 200 }, SEED_FLAG_RULE);
    const samples = await time(run, 30, 3);
    rows.push([c.label, median(samples), percentile(samples, 95)]);
  }
  report('worklist query over 50,000 cases (page of 200, sort + filter + total count)', rows, 10);
  if (process.env.CXR_BENCH_KEEP) console.log(`kept ${store.dbPath}`);
  store.close();
}
