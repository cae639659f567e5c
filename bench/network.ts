// Receive and store over loopback: dcmtk's storescu pushes chest X-ray sized DICOM images to the station's
// receiver (C-STORE into the import path), while the worklist query is timed through the dispatcher on the same
// event loop (the UI's view of responsiveness) and the model reads what arrived in the background queue.
// Target: at least 20 images per second received and stored.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Workstation, dispatch } from '../electron/core/api/index';
import { CaseStore } from '../electron/core/store/index';
import { importBytes } from '../electron/core/importing/index';
import { defaultPackDir } from '../electron/core/inference/index';
import { freePort } from '../electron/core/network/testOrthanc';
import { tempDbPath, tempDir } from '../electron/testing/index';
import { syntheticDicom } from './synthetic';
import { median, percentile } from './stats';

const TARGET_PER_S = 20;

function storescu(port: number, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('storescu', ['+sd', '-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), dir], { timeout: 600_000 }, (err, out, errOut) => (err ? reject(new Error(`storescu: ${out}${errOut}`)) : resolve()));
  });
}

async function oneRun(dir: string, count: number, modelDir: string | undefined): Promise<{ perS: number; wl: number[]; analysisPerS: number | null }> {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http', modelDir });
  try {
    await ws.analysisReady;
    await ws.networkReady;
    const port = await freePort();
    await ws.network.setSettings({ receiver: { enabled: true, aeTitle: 'CXRSTATION', port, whitelist: [] }, autoSendOnSign: false });
    const wl: number[] = [];
    let sending = true;
    // The worklist's page query, every 25 ms while images arrive: how long the UI would wait for it.
    const probe = (async () => {
      while (sending) {
        const t = performance.now();
        // the dispatcher without the sign-in check: the bench station has no accounts
        const r = await dispatch(ws.handlers, 'cases:list', { sort: { key: 'importedAt', dir: 'desc' }, limit: 100 });
        if (!r.ok) throw new Error(r.error.message);
        wl.push(performance.now() - t);
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    const t0 = performance.now();
    await storescu(port, dir);
    await ws.network.receiverIdle();
    const seconds = (performance.now() - t0) / 1000;
    sending = false;
    await probe;
    if (ws.store.countCases() !== count) throw new Error(`expected ${count} cases, got ${ws.store.countCases()}`);
    let analysisPerS: number | null = null;
    if (modelDir && !ws.analysisProgress().modelError) {
      await ws.analysisIdle();
      analysisPerS = count / ((performance.now() - t0) / 1000);
    }
    return { perS: count / seconds, wl, analysisPerS };
  } finally {
    await ws.close();
  }
}

/** The import path alone on the same files (no network), to tell the receiver's own cost from the import's. */
async function importAlone(dir: string): Promise<number> {
  const store = CaseStore.open(tempDbPath());
  try {
    const files = fs.readdirSync(dir).sort();
    const t0 = performance.now();
    for (const f of files) await importBytes(store, new Uint8Array(fs.readFileSync(path.join(dir, f))), f);
    return files.length / ((performance.now() - t0) / 1000);
  } finally {
    store.close();
  }
}

export async function benchNetwork(): Promise<void> {
  const RUNS = 3;
  const modelDir = process.env.CXR_BENCH_NO_MODEL ? undefined : defaultPackDir();
  const sizes: { label: string; rows: number; columns: number; count: number }[] = [
    { label: '2000x2500 16-bit (10 MB, uncompressed CR/DX)', rows: 2500, columns: 2000, count: 30 },
    { label: '1024x1024 16-bit (2 MB)', rows: 1024, columns: 1024, count: 60 },
  ];
  for (const size of sizes) {
    const dir = tempDir('cxr-bench-net-');
    try {
      for (let i = 0; i < size.count; i++) fs.writeFileSync(path.join(dir, `img${String(i).padStart(3, '0')}.dcm`), syntheticDicom(size.rows, size.columns, 5000 + i));
      const rates: number[] = [];
      const wl: number[] = [];
      const analysis: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const run = await oneRun(dir, size.count, modelDir);
        rates.push(run.perS);
        wl.push(...run.wl);
        if (run.analysisPerS !== null) analysis.push(run.analysisPerS);
      }
      const alone = await importAlone(dir);
      const med = median(rates);
      console.log(`\nreceive and store over loopback (storescu -> C-STORE SCP -> import), ${size.count} images of ${size.label}, ${RUNS} runs — target: >= ${TARGET_PER_S} images/s`);
      console.log(`  images/s per run: ${rates.map((x) => x.toFixed(1)).join(', ')}`);
      console.log(`  median ${med.toFixed(1)} images/s = ${(med / TARGET_PER_S).toFixed(2)}x the target${med >= TARGET_PER_S ? '  ok' : '  UNDER TARGET'}`);
      console.log(`  for comparison, the import path alone (read file, decode, hash, encrypted blobs with fsync, database): ${alone.toFixed(1)} images/s`);
      console.log(`  worklist query (cases:list, 100 rows) during the receive: median ${median(wl).toFixed(1)} ms, p95 ${percentile(wl, 95).toFixed(1)} ms, max ${Math.max(...wl).toFixed(1)} ms (${wl.length} samples)`);
      if (analysis.length) console.log(`  received and analysed by the model (background queue drained): median ${median(analysis).toFixed(1)} images/s`);
      else console.log('  (no model pack: analysis not measured)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
