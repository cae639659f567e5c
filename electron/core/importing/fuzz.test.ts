// Fuzzing the import path: thousands of mutants of the shared DICOM, PNG and JPEG samples go through the real
// import (decode, hash, encrypted blobs, database) in a child process that this test watches. Asserted: no crash,
// no input that runs past the per-file limit (the child is killed and the input named), memory that stays bounded,
// and every refusal an AppError with a known code and a reason; the store stays intact.
// Bounded in time: CXR_FUZZ_SECONDS (default 40; at least 300 inputs, for which a loaded machine may take longer), seeded: CXR_FUZZ_SEED (default 20261128), so a failure can be
// replayed exactly. Run: node --import tsx --test electron/core/importing/fuzz.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot, tempDir } from '../../testing/index';
import { PER_FILE_LIMIT_MS } from '../../testing/fuzz-worker';

const SECONDS = Number(process.env.CXR_FUZZ_SECONDS ?? 40);
const SEED = Number(process.env.CXR_FUZZ_SEED ?? 20261128);
/** beyond the codec's own limit, what a synchronous decoder (PNG, JPEG, DICOM parsing) may take on a loaded machine */
const HANG_MS = PER_FILE_LIMIT_MS + 5000;
/** resident memory may grow this much over its level after warm-up (decoders hold a few copies of one image) */
const RSS_GROWTH_LIMIT = 768 * 2 ** 20;
/** inputs the run must reach to test what it claims; on a loaded machine it runs on (up to four times SECONDS) to get them */
const MIN_INPUTS = Math.min(300, SECONDS * 10);

test(`import fuzzing: ${SECONDS} s of mutated DICOM, PNG and JPEG samples (seed ${SEED})`, { timeout: (4 * SECONDS + 120) * 1000 }, async () => {
  const started = Date.now();
  const dir = tempDir('cxr-fuzz-');
  const failDir = tempDir('cxr-fuzz-failures-');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'electron/testing/fuzz-worker.ts'), path.join(dir, 'cxr.sqlite'), String(SECONDS), String(SEED), failDir, String(MIN_INPUTS)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const results: { i: number; seed: string; outcome?: string; code?: string; violation?: string; ms: number; rss: number }[] = [];
  let current: { start: number; seed: string; bytes: number } | null = null;
  const finished: { done: { integrity: string; images: number } | null } = { done: null };
  let lastLine = Date.now();
  let hang: string | null = null;
  let stderr = '';
  let buf = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout.on('data', (d: Buffer) => {
    lastLine = Date.now();
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const o = JSON.parse(l);
      if (o.start !== undefined) current = o;
      else if (o.done) finished.done = o;
      else if (o.i !== undefined) results.push(o);
    }
  });
  const watchdog = setInterval(() => {
    if (Date.now() - lastLine > HANG_MS && current) {
      hang = `input ${current.start} (a mutant of ${current.seed}, ${current.bytes} bytes; replay with CXR_FUZZ_SEED=${SEED}) ran longer than ${HANG_MS} ms`;
      child.kill('SIGKILL');
    }
  }, 250);
  const exit = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  clearInterval(watchdog);

  assert.equal(hang, null, hang ?? '');
  assert.equal(exit, 0, `the fuzzing process crashed (exit ${exit}): ${stderr}`);
  const violations = results.filter((r) => r.violation);
  assert.deepEqual(violations.slice(0, 5), [], `refusals without an AppError code and reason (inputs saved in ${failDir})`);
  const done = finished.done;
  assert.ok(done, 'the fuzzing process finished its run');
  assert.equal(done.integrity, 'ok');
  assert.equal(done.images, results.filter((r) => r.outcome === 'imported').length, 'every import reported is stored, nothing else');

  const slowest = Math.max(...results.map((r) => r.ms));
  assert.ok(slowest < HANG_MS, `slowest input took ${slowest} ms`);
  const warm = results[Math.min(50, results.length - 1)].rss;
  const peak = Math.max(...results.map((r) => r.rss));
  assert.ok(peak - warm < RSS_GROWTH_LIMIT, `memory grew by ${((peak - warm) / 2 ** 20).toFixed(0)} MB`);

  // The run reached every format and its refusals: otherwise the fuzzer was not testing what it claims.
  const codes = new Map<string, number>();
  for (const r of results) if (r.code) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  for (const c of ['PNG_CORRUPT', 'JPEG_CORRUPT']) assert.ok(codes.has(c), `no ${c} refusal in ${results.length} inputs`);
  assert.ok([...codes.keys()].some((c) => c.startsWith('DICOM_')), 'no DICOM refusal');
  assert.ok(results.length >= MIN_INPUTS, `only ${results.length} inputs in ${4 * SECONDS} s`);
  const outcomes = (o: string) => results.filter((r) => r.outcome === o).length;
  console.log(
    `# fuzz: ${results.length} inputs in ${Math.round((Date.now() - started) / 1000)} s (seed ${SEED}): ${outcomes('imported')} imported, ${outcomes('duplicate')} duplicates, ${outcomes('refused')} refused ` +
      `[${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}]; slowest ${slowest} ms; RSS ${(warm / 2 ** 20).toFixed(0)} -> peak ${(peak / 2 ** 20).toFixed(0)} MB`,
  );
});
