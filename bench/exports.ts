// Exports of one case with a 2000 x 2500 16-bit image, three full-resolution masks and five findings: gathering the
// input from the store, then each format (the PDF renders the key image, the SEG packs 15 Mpixels of masks).
import { CaseStore } from '../electron/core/store/index';
import { importBytes } from '../electron/core/importing/index';
import { saveAnnotationVersion } from '../electron/core/annotations/index';
import { buildExport, gatherExportInput, packBits, EXPORT_FORMATS } from '../electron/core/exports/index';
import { tempDbPath } from '../electron/testing/index';
import { syntheticDicom } from './synthetic';
import { median, percentile, report, time } from './stats';

export async function benchExports(): Promise<void> {
  const RUNS = 7;
  const store = CaseStore.open(tempDbPath());
  const r = await importBytes(store, syntheticDicom(2500, 2000, 1), 'bench.dcm');
  if (r.status !== 'imported') throw new Error(`bench image was ${r.status}`);
  const { rows: H, columns: W } = store.getImage(r.imageId);
  const mask = (x0: number, x1: number) => {
    const m = new Uint8Array(W * H);
    for (let y = Math.floor(H * 0.15); y < H * 0.85; y++) for (let x = Math.floor(W * x0); x < W * x1; x++) m[y * W + x] = 1;
    return packBits(m);
  };
  saveAnnotationVersion(store.db, r.imageId, {
    author: 'Bench Reader',
    baseVersion: 0,
    findings: Array.from({ length: 5 }, (_, i) => ({
      id: `f${i}`, kind: 'box' as const, x: 200 + i * 300, y: 400 + i * 200, w: 180, h: 150, label: 'ActiveTuberculosis',
      provenance: { source: 'user' as const, author: 'Bench Reader' }, state: 'added' as const,
    })),
    masks: [
      { id: 'r', label: 'right_lung', source: 'ai', width: W, height: H, packed: mask(0.1, 0.45) },
      { id: 'l', label: 'left_lung', source: 'ai', width: W, height: H, packed: mask(0.55, 0.9) },
      { id: 'x', label: 'lesion', source: 'user', width: W, height: H, packed: mask(0.6, 0.7) },
    ],
  });
  console.log(`\nexports: one case, ${W}x${H} 16-bit image, 3 masks, 5 findings; ${RUNS} runs each`);
  const gather = await time(() => gatherExportInput(store, r.caseId), RUNS);
  const input = gatherExportInput(store, r.caseId);
  const rows: [string, number, number][] = [['gather (store, original, masks, report)', median(gather), percentile(gather, 95)]];
  for (const f of EXPORT_FORMATS) {
    let size = 0;
    const t = await time(async () => {
      size = (await buildExport(input, f)).bytes.byteLength;
    }, RUNS);
    rows.push([`${f} (${(size / 2 ** 20).toFixed(2)} MB)`, median(t), percentile(t, 95)]);
  }
  report('export of one case, per format (after gather)', rows, 1500);
  store.close();
}
