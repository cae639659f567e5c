// Fills a case store with synthetic worklist rows (no pixels): for the worklist benchmark and the e2e scale test.
// Usage: node --import tsx bench/seed-worklist.ts DB_FILE N
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaseStore, sha256, type NewImageRecord } from '../electron/core/store/index';

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


/** The model the seeded scores are said to come from, and the flag rule of a station using it at its default threshold (the shipped pack's). */
export const SEED_MODEL = { name: 'bench-model', version: '1', sha256: 'be'.repeat(32) };
export const SEED_FLAG_RULE = { modelSha256: SEED_MODEL.sha256, threshold: 47.77 };

export function seedWorklist(store: CaseStore, n: number): void {
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) store.insertImage(record(i), new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString());
  })();
  store.db.prepare(`UPDATE studies SET ai_score = (id * 37) % 100, ai_score_model = '${SEED_MODEL.sha256}', ai_model_name = '${SEED_MODEL.name}', ai_model_version = '${SEED_MODEL.version}' WHERE id % 3 != 0`).run();
  store.db.prepare("UPDATE studies SET status = 'analyzed' WHERE ai_score IS NOT NULL").run();
  store.db.exec('ANALYZE');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [db, n] = process.argv.slice(2);
  const store = CaseStore.open(db);
  seedWorklist(store, Number(n));
  console.log(`${store.countCases()} cases in ${db}`);
  store.close();
}
