// The import fuzzer's child process (electron/core/importing/fuzz.test.ts watches it): mutates the shared DICOM,
// PNG and JPEG samples and feeds each mutant to the real import path (decode, hash, encrypted blobs, database),
// one at a time, printing one JSON line per input:
//   {"i":N,"seed":"dicom-cr","outcome":"imported"|"duplicate"|"refused","code":"...","ms":T,"rss":B}
// and {"violation":...} for anything that is not an AppError with a code and a reason. The parent kills it on a
// hang. Reproducible: the same FUZZ_SEED gives the same inputs in the same order.
// Usage: node --import tsx electron/testing/fuzz-worker.ts DB SECONDS SEED [FAIL_DIR] [MIN_INPUTS]
// It runs SECONDS, and on a loaded machine on until MIN_INPUTS inputs were tried (four times SECONDS at most).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import type * as JpegJsNs from 'jpeg-js';
import { CaseStore } from '../core/store/index';
import { importBytes } from '../core/importing/index';
import { configureImaging } from '../core/imaging/index';
import { AppError } from '../core/errors';
import { makeDicom, testImage, TS } from '../core/imaging/testFixtures';
import { datasetsDir } from './index';
import { seededRandom } from './random';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;
const jpegjs = require('jpeg-js') as typeof JpegJsNs;

/** Codes a refusal may carry: the import's own reasons, and the store's (a full disk would be DISK_FULL). */
export const IMPORT_REFUSAL_CODES = new Set([
  'EMPTY_FILE', 'FILE_TOO_LARGE', 'FILE_UNREADABLE', 'NOT_AN_IMAGE', 'PNG_CORRUPT', 'JPEG_CORRUPT', 'DICOM_CORRUPT', 'DICOM_TRUNCATED',
  'DICOM_NO_PIXEL_DATA', 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX', 'DICOM_UNSUPPORTED_IMAGE', 'DICOM_DECODE_FAILED', 'DECODE_LIMIT', 'OUT_OF_SCOPE', 'DISK_FULL',
]);
/** The per-file limit on a codec's work; the parent allows this plus a margin before it calls it a hang. */
export const PER_FILE_LIMIT_MS = 5000;

/** The seeds: the shared samples as they are, plus small re-encodings of them (many more mutants per second). */
export function loadSeeds(): { name: string; ext: string; bytes: Uint8Array; weight: number }[] {
  const dir = path.join(datasetsDir, 'dicom_samples');
  const seeds: { name: string; ext: string; bytes: Uint8Array; weight: number }[] = [];
  const read = (f: string) => new Uint8Array(fs.readFileSync(f));
  if (fs.existsSync(dir)) {
    seeds.push({ name: 'dicom-cr-implicit', ext: 'dcm', bytes: read(path.join(dir, 'nema_cr_mono1_10_chest_no_part10_header.dcm')), weight: 3 });
    seeds.push({ name: 'dicom-jpeg-baseline', ext: 'dcm', bytes: read(path.join(dir, 'siim_cr_chest_pa_jpegbaseline.dcm')), weight: 2 });
    seeds.push({ name: 'dicom-dx-explicit', ext: 'dcm', bytes: read(path.join(dir, 'highdicom_dx_thorax_lateral_veterinary_OOD.dcm')), weight: 2 });
    seeds.push({ name: 'dicom-j2k', ext: 'dcm', bytes: read(path.join(dir, 'nema_wg04_rg1_cr_chest_pa_j2k_lossy.dcm')), weight: 1 });
    // The JPEG stream inside the SIIM file is itself a real JPEG file.
    const siim = read(path.join(dir, 'siim_cr_chest_pa_jpegbaseline.dcm'));
    const soi = siim.findIndex((v, i) => v === 0xff && siim[i + 1] === 0xd8 && siim[i + 2] === 0xff);
    let eoi = siim.length - 2;
    while (eoi > soi && !(siim[eoi] === 0xff && siim[eoi + 1] === 0xd9)) eoi--;
    if (soi > 0 && eoi > soi) seeds.push({ name: 'jpeg-siim', ext: 'jpg', bytes: siim.slice(soi, eoi + 2), weight: 2 });
  }
  const pngDir = path.join(datasetsDir, 'figure1_covid_cxr', 'images');
  const pngFile = fs.existsSync(pngDir) ? fs.readdirSync(pngDir).filter((f) => f.endsWith('.png')).sort()[0] : undefined;
  if (pngFile) {
    const bytes = read(path.join(pngDir, pngFile));
    seeds.push({ name: 'png-figure1', ext: 'png', bytes, weight: 2 });
    // a 128 x 128 crop of it, as PNG and as JPEG
    const src = PNG.sync.read(Buffer.from(bytes));
    const w = 128;
    const crop = new PNG({ width: w, height: w });
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 4; c++) crop.data[(y * w + x) * 4 + c] = src.data[((y + 100) * src.width + x + 100) * 4 + c];
    seeds.push({ name: 'png-crop', ext: 'png', bytes: new Uint8Array(PNG.sync.write(crop)), weight: 4 });
    seeds.push({ name: 'jpeg-crop', ext: 'jpg', bytes: new Uint8Array(jpegjs.encode({ width: w, height: w, data: crop.data }, 85).data), weight: 4 });
  }
  seeds.push({
    name: 'dicom-synthetic',
    ext: 'dcm',
    bytes: makeDicom({ transferSyntax: TS.explicitLE, rows: 32, columns: 32, bitsStored: 12, pixels: testImage(32, 32, 12), attrs: { WindowCenter: 100, WindowWidth: 200 } }),
    weight: 4,
  });
  return seeds;
}

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];

/** One mutant of `b`: a few of the classic mutations (bit flips, bytes, big lengths, cuts, splices, repeats). */
export function mutate(b: Uint8Array, r: () => number, other: Uint8Array): Uint8Array {
  let out = b.slice();
  const pick = (n: number) => Math.floor(r() * n);
  // most damage near the front, where the headers and lengths are
  const at = () => (r() < 0.6 ? pick(Math.min(out.length, 2048)) : pick(out.length));
  const n = 1 + pick(4);
  for (let k = 0; k < n && out.length > 0; k++) {
    switch (pick(8)) {
      case 0:
        out[at()] ^= 1 << pick(8);
        break;
      case 1:
        out[at()] = INTERESTING[pick(INTERESTING.length)];
        break;
      case 2: {
        // a length or dimension field turned huge or zero
        const p = at();
        const v = [0xffffffff, 0x7fffffff, 0x00010000, 0, 0xfffe][pick(5)];
        for (let j = 0; j < 4 && p + j < out.length; j++) out[p + j] = (v >>> (8 * j)) & 0xff;
        break;
      }
      case 3:
        out = out.slice(0, Math.max(1, pick(out.length))); // truncated
        break;
      case 4: {
        const p = at();
        const len = 1 + pick(64);
        out = new Uint8Array([...out.subarray(0, p), ...out.subarray(Math.min(out.length, p + len))]); // bytes removed
        break;
      }
      case 5: {
        const p = at();
        const chunk = out.subarray(p, p + 1 + pick(256));
        const c = new Uint8Array(out.length + chunk.length);
        c.set(out.subarray(0, p));
        c.set(chunk, p);
        c.set(out.subarray(p), p + chunk.length);
        out = c; // a piece repeated
        break;
      }
      case 6: {
        const p = at();
        const q = pick(other.length);
        const len = Math.min(1 + pick(512), other.length - q, out.length - p);
        if (len > 0) out.set(other.subarray(q, q + len), p); // spliced from another format
        break;
      }
      default:
        for (let j = at(), e = Math.min(out.length, j + 1 + pick(32)); j < e; j++) out[j] = pick(256); // random run
    }
  }
  return out;
}

async function main(): Promise<void> {
  const [dbPath, secondsArg, seedArg, failDir, minArg] = process.argv.slice(2);
  const minInputs = Number(minArg ?? 0);
  const seconds = Number(secondsArg);
  const seed = Number(seedArg) >>> 0;
  configureImaging({ decodeTimeoutMs: PER_FILE_LIMIT_MS });
  const store = CaseStore.open(dbPath);
  const seeds = loadSeeds();
  const bag = seeds.flatMap((s, i) => Array.from({ length: s.weight }, () => i));
  const r = seededRandom(seed);
  const end = Date.now() + seconds * 1000;
  const hardEnd = Date.now() + 4 * seconds * 1000;
  const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  say({ ready: true, seeds: seeds.map((s) => `${s.name} (${s.bytes.length} B)`) });
  for (let i = 0; Date.now() < end || (i < minInputs && Date.now() < hardEnd); i++) {
    const s = seeds[bag[Math.floor(r() * bag.length)]];
    const other = seeds[Math.floor(r() * seeds.length)].bytes;
    const input = mutate(s.bytes, r, other);
    const name = `fuzz-${seed}-${i}.${s.ext}`;
    say({ start: i, seed: s.name, bytes: input.length });
    const t = performance.now();
    let line: Record<string, unknown>;
    try {
      const o = await importBytes(store, input, name);
      line = { i, seed: s.name, outcome: o.status };
    } catch (e) {
      const ok = e instanceof AppError && IMPORT_REFUSAL_CODES.has(e.code) && e.message.length > 10;
      line = ok ? { i, seed: s.name, outcome: 'refused', code: (e as AppError).code } : { i, seed: s.name, violation: e instanceof AppError ? `${e.code}: ${e.message}` : String((e as Error)?.stack ?? e) };
      if (!ok && failDir) fs.writeFileSync(path.join(failDir, name), input);
    }
    say({ ...line, ms: Math.round(performance.now() - t), rss: process.memoryUsage().rss });
  }
  const integrity = store.db.pragma('integrity_check', { simple: true });
  const images = store.db.prepare('SELECT count(*) FROM images').pluck().get();
  const orphans = store.sweepOrphanBlobs().removed;
  store.close();
  say({ done: true, integrity, images, orphans });
  process.exit(0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) void main();
