// What encryption at rest costs: the import of a 2000 x 2500 16-bit DICOM (of which AES-GCM sealing of its one
// blob, the original, which also holds its pixels), opening an image's pixels (read + decrypt + checksum, against read + checksum of a plain file of the same
// size: what the store did before encryption), and worklist queries on the SQLCipher database against a decrypted
// copy of the same database. Medians and ratios; `npm run bench -- encryption`.
import fs from 'node:fs';
import path from 'node:path';
import { CaseStore, sha256, worklistOrder } from '../electron/core/store/index';
import { openEncryptedDatabase } from '../electron/core/store/encryption';
import { importBytes } from '../electron/core/importing/index';
import { tempDbPath, tempDir } from '../electron/testing/index';
import { seedWorklist } from './seed-worklist';
import { syntheticDicom } from './synthetic';
import { median, percentile, time } from './stats';

function line(label: string, xs: number[]): number {
  const m = median(xs);
  console.log(`  ${label.padEnd(58)} median ${m.toFixed(2).padStart(8)} ms   p95 ${percentile(xs, 95).toFixed(2).padStart(8)} ms`);
  return m;
}

export async function benchEncryption(): Promise<void> {
  console.log('\nencryption at rest: SQLCipher database, AES-256-GCM blob files');
  const store = CaseStore.open(tempDbPath());

  // ---- import -------------------------------------------------------------------------------------------
  const RUNS = 12;
  const files = Array.from({ length: RUNS + 2 }, (_, i) => syntheticDicom(2500, 2000, 100 + i));
  const full: number[] = [];
  let imageId = 0;
  for (let i = 0; i < files.length; i++) {
    const t = performance.now();
    const r = await importBytes(store, files[i], `enc${i}.dcm`);
    if (r.status !== 'imported') throw new Error(`bench file ${i} was ${r.status}`);
    if (i >= 2) full.push(performance.now() - t);
    imageId = r.imageId;
  }
  const px = store.readPixels(imageId);
  const key = store.dataKey();
  const seal = await time(() => {
    key.sealBlob('originals:y', files[0]);
  }, RUNS, 2);
  const mFull = line('full import, encrypted store (decode, hash, seal, fsync, db)', full);
  const mSeal = line('  AES-256-GCM sealing of its original (10 MB), in one thread', seal);
  // The import seals in the writer thread beside the decode, so this bounds the cost from above.
  console.log(`  import ratio encrypted / unencrypted, at most (full / (full - sealing)): ${(mFull / (mFull - mSeal)).toFixed(3)}`);

  // ---- open to pixels -------------------------------------------------------------------------------------
  const plainFile = path.join(tempDir(), 'plain-pixels');
  fs.writeFileSync(plainFile, px);
  const enc = await time(() => store.readPixels(imageId), 20, 3);
  const plain = await time(() => sha256(fs.readFileSync(plainFile)), 20, 3);
  const mEnc = line('open to pixels, encrypted (read + decrypt + checksum, 10 MB)', enc);
  const mPlain = line('open to pixels, plain file (read + checksum, 10 MB)', plain);
  console.log(`  open-to-pixels ratio encrypted / plain: ${(mEnc / mPlain).toFixed(3)}`);

  // ---- database pages --------------------------------------------------------------------------------------
  const N = 20_000;
  seedWorklist(store, N);
  const copy = path.join(tempDir(), 'plain.sqlite');
  store.snapshotDatabase(copy);
  const dec = openEncryptedDatabase(copy, key);
  dec.pragma('journal_mode = DELETE');
  dec.pragma("rekey = ''"); // a decrypted copy of the same database: the baseline
  dec.close();
  const Database = (await import('better-sqlite3')).default;
  const plainDb = new Database(copy, { readonly: true });
  const queries: [string, string, unknown[]][] = [
    ['page of 200, newest first', `SELECT * FROM studies ORDER BY ${worklistOrder('importedAt', 'desc')} LIMIT 200`, []],
    ['page of 200 by AI score, deep offset 15000', `SELECT * FROM studies ORDER BY ${worklistOrder('aiScore', 'desc')} LIMIT 200 OFFSET 15000`, []],
    ['full scan: text filter count over 20,000 cases', 'SELECT count(*) FROM studies WHERE instr(search_text, ?) > 0', ['kamau']],
  ];
  for (const [label, sql, args] of queries) {
    const a = await time(() => store.db.prepare(sql).all(...args), 30, 3);
    const b = await time(() => plainDb.prepare(sql).all(...args), 30, 3);
    const ma = line(`${label}, SQLCipher`, a);
    const mb = line(`${label}, plain`, b);
    console.log(`  ratio: ${(ma / mb).toFixed(3)}`);
  }
  plainDb.close();
  store.close();
}
