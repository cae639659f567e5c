// Worklist query over 50,000 cases: sort + filter + page, as the renderer asks for it.
import { CaseStore, sha256, type NewImageRecord } from '../electron/core/store/index';
import type { WorklistSortKey } from '../electron/contract/index';
import { tempDbPath } from '../electron/testing/index';
import { median, percentile, report, time } from './stats';

const N = 50_000;
const NAMES = ['ABEBE', 'BANDA', 'CHEN', 'DIALLO', 'ESTRADA', 'FOFANA', 'GARCIA', 'HUSSAIN', 'IBRAHIM', 'JOSHI', 'KAMAU', 'LI', 'MWANGI', 'NGUYEN', 'OKAFOR', 'PATEL'];

function record(i: number): NewImageRecord {
  const name = `${NAMES[i % NAMES.length]}^${NAMES[(i * 7) % NAMES.length]}${i}`;
  return {
    patient: { patientId: `PID${100000 + i}`, patientName: name, birthDate: null, sex: i % 2 ? 'F' : 'M' },
    study: { studyInstanceUid: `2.25.${i}`, studyDate: `20${20 + (i % 7)}${String((i % 12) + 1).padStart(2, '0')}${String((i % 28) + 1).padStart(2, '0')}`, studyTime: null, accessionNumber: `A${i}`, description: null },
    series: { seriesInstanceUid: `2.25.${i}.1`, modality: i % 4 ? 'CR' : 'DX', bodyPart: 'CHEST', viewPosition: i % 5 ? 'PA' : 'AP', seriesNumber: 1, description: null },
    image: {
      sopInstanceUid: `2.25.${i}.1.1`, sopClassUid: null, rows: 2500, columns: 2000, bitsStored: 12, photometric: 'MONOCHROME2',
      rescaleSlope: 1, rescaleIntercept: 0, pixelSpacing: [0.15, 0.15], minPixel: 0, maxPixel: 4095, windows: [{ name: 'Default', center: 2048, width: 4096 }],
      pixelSha256: sha256(new TextEncoder().encode(`p${i}`)), sourceName: `${i}.dcm`, sourceSha256: sha256(new TextEncoder().encode(`s${i}`)), sourceFormat: 'dicom', transferSyntax: null,
    },
  };
}

export async function benchWorklist(): Promise<void> {
  const store = CaseStore.open(tempDbPath());
  const t0 = performance.now();
  store.db.transaction(() => {
    for (let i = 0; i < N; i++) store.insertImage(record(i), new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString());
  })();
  store.db.prepare("UPDATE studies SET ai_score = (id * 37) % 100 WHERE id % 3 != 0").run();
  store.db.prepare("UPDATE studies SET status = 'analyzed' WHERE ai_score IS NOT NULL").run();
  store.db.exec('ANALYZE');
  console.log(`worklist: ${N} cases inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const cases: { label: string; key: WorklistSortKey; dir: 'asc' | 'desc'; text?: string; status?: 'analyzed'; offset?: number }[] = [
    { label: 'newest first (default)', key: 'importedAt', dir: 'desc' },
    { label: 'triage: AI score desc', key: 'aiScore', dir: 'desc' },
    { label: 'patient name asc + text filter', key: 'patientName', dir: 'asc', text: 'kamau' },
    { label: 'study date desc + status filter', key: 'studyDate', dir: 'desc', status: 'analyzed' },
    { label: 'AI score asc + rare text filter', key: 'aiScore', dir: 'asc', text: 'pid14999' },
    { label: 'patient ID, deep page (offset 40000)', key: 'patientId', dir: 'asc', offset: 40_000 },
  ];
  const rows: [string, number, number][] = [];
  for (const c of cases) {
    const run = () => store.findCasesForWorklist({ sort: { key: c.key, dir: c.dir }, filter: { text: c.text, status: c.status }, offset: c.offset ?? 0, limit: 200 });
    const samples = await time(run, 30, 3);
    rows.push([c.label, median(samples), percentile(samples, 95)]);
  }
  report('worklist query over 50,000 cases (page of 200, sort + filter + total count)', rows, 10);
  if (process.env.CXR_BENCH_KEEP) console.log(`kept ${store.dbPath}`);
  store.close();
}
