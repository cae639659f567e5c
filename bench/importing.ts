// Import of one 2000 x 2500 16-bit DICOM (decode, hash, blobs, database), into a store that already holds cases.
import { CaseStore } from '../electron/core/store/index';
import { importBytes } from '../electron/core/importing/index';
import { decodeImage } from '../electron/core/imaging/index';
import { tempDbPath } from '../electron/testing/index';
import { syntheticDicom } from './synthetic';
import { median, percentile, report } from './stats';

export async function benchImport(): Promise<void> {
  const RUNS = 15;
  const files = Array.from({ length: RUNS + 2 }, (_, i) => syntheticDicom(2500, 2000, i + 1));
  console.log(`\nimport: ${files.length} synthetic 2000x2500 16-bit DICOM files of ${(files[0].byteLength / 2 ** 20).toFixed(1)} MB`);
  const store = CaseStore.open(tempDbPath());
  const decodeOnly: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < files.length; i++) {
    let t = performance.now();
    await decodeImage(files[i], `f${i}.dcm`);
    const d = performance.now() - t;
    t = performance.now();
    const r = await importBytes(store, files[i], `f${i}.dcm`);
    const f = performance.now() - t;
    if (r.status !== 'imported') throw new Error(`bench file ${i} was ${r.status}`);
    if (i >= 2) {
      decodeOnly.push(d);
      full.push(f);
    }
  }
  report('import of one 2000x2500 16-bit DICOM', [
    ['decode only', median(decodeOnly), percentile(decodeOnly, 95)],
    ['full import (decode, hash, blobs with fsync, db)', median(full), percentile(full, 95)],
  ], 150);
  store.close();
}
