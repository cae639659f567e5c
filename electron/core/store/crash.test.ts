// Crash test: a child process imports images and saves annotation versions through the core services, printing an
// acknowledgement after each commit; it is killed (SIGKILL) at random moments, again and again, on one store.
// After every kill: PRAGMA integrity_check is ok, foreign keys hold, every acknowledged import reads back with its
// exact pixels (no half-written or missing blob), every acknowledged edit is there with its mask, and the orphan
// sweep removes only unreferenced files; the store check (`cxr store check`'s core: SQLite, foreign keys, every
// image file against its hash, the audit chain) passes after every kill, and the command itself at the end. Bounded in time: CXR_CRASH_SECONDS (default 25); seeded: CXR_CRASH_SEED.
// Run: node --import tsx --test electron/core/store/crash.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { CaseStore, sha256 } from './index';
import { listAnnotationVersions, loadAnnotations } from '../annotations/index';
import { checkStore } from '../integrity/index';
import { repoRoot, tempDir } from '../../testing/index';
import { cxrProcess } from '../../testing/cli';

const SECONDS = Number(process.env.CXR_CRASH_SECONDS ?? 25);
let seed = Number(process.env.CXR_CRASH_SEED ?? 4242) >>> 0;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);

/** Run the worker until a random moment after it is ready, kill it, and return what it acknowledged. */
async function runAndKill(dbPath: string, round: number): Promise<{ acks: string[]; stderr: string; killedAfterMs: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'electron/testing/store-worker.ts'), dbPath, String(round + 1)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: string[] = [];
  let buf = '';
  let stderr = '';
  let readyAt = 0;
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l === 'ready') {
          readyAt = Date.now();
          resolve();
        } else if (l.startsWith('ack ')) acks.push(l);
      }
    });
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await Promise.race([ready, exited]);
  // kill at a random moment: early (opening, first import) as often as deep inside a run of writes
  const wait = Math.floor(rand() < 0.3 ? rand() * 60 : 60 + rand() * 700);
  await new Promise((r) => setTimeout(r, wait));
  child.kill('SIGKILL');
  await exited;
  return { acks, stderr, killedAfterMs: readyAt ? Date.now() - readyAt : -1 };
}

test(`crash test: SIGKILL at random moments for ${SECONDS} s; nothing acknowledged is lost, nothing is damaged`, { timeout: (SECONDS + 180) * 1000 }, async () => {
  const dbPath = path.join(tempDir('cxr-crash-'), 'cxr.sqlite');
  CaseStore.open(dbPath).close();
  const imports = new Map<number, string>(); // imageId -> pixel sha256, as acknowledged
  const edits = new Map<number, { version: number; maskSha: string }>(); // imageId -> last acknowledged edit
  const end = Date.now() + SECONDS * 1000;
  let rounds = 0;
  let acked = 0;
  while (Date.now() < end || rounds < 3) {
    const { acks, stderr } = await runAndKill(dbPath, rounds);
    assert.doesNotMatch(stderr, /store-worker:/, `the worker failed by itself (not by the kill): ${stderr}`);
    for (const a of acks) {
      const [, kind, id, x, y] = a.split(' ');
      if (kind === 'import') imports.set(Number(id), x);
      else edits.set(Number(id), { version: Number(x), maskSha: y });
    }
    acked += acks.length;
    rounds++;

    const store = CaseStore.open(dbPath);
    try {
      assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok', `round ${rounds}`);
      assert.deepEqual(store.db.pragma('foreign_key_check'), [], `round ${rounds}`);
      store.sweepOrphanBlobs();
      for (const [imageId, pixelSha] of imports) {
        assert.equal(store.getImage(imageId).pixelSha256, pixelSha, `round ${rounds}: image ${imageId}`);
        assert.equal(sha256(store.readPixels(imageId)), pixelSha, `round ${rounds}: pixels of image ${imageId}`);
      }
      for (const [imageId, e] of edits) {
        const versions = listAnnotationVersions(store.db, imageId).map((v) => v.version);
        assert.ok(versions.includes(e.version), `round ${rounds}: acknowledged version ${e.version} of image ${imageId} is missing (have ${versions.join(',')})`);
        const latest = loadAnnotations(store.db, imageId);
        // a save can commit and be killed before it printed its ack: the latest may be newer, never older
        assert.ok(latest.version >= e.version, `round ${rounds}: image ${imageId} went back to version ${latest.version}`);
        if (latest.version === e.version) {
          const mask = latest.masks[0];
          assert.ok(mask && 'packed' in mask, 'the acknowledged mask is there');
          assert.equal(createHash('sha256').update(mask.packed).digest('hex'), e.maskSha, `round ${rounds}: mask of image ${imageId} v${e.version}`);
        }
      }
      // everything stored is readable, acknowledged or not (an unacknowledged commit is whole too)
      for (const id of store.db.prepare('SELECT id FROM images').pluck().all() as number[]) store.readPixels(id);
      const report = checkStore(store);
      assert.deepEqual(report.problems, [], `round ${rounds}: store check`);
    } finally {
      store.close();
    }
  }
  assert.ok(acked > 0, 'the worker acknowledged work before being killed');
  const cli = cxrProcess(['store', 'check', '--db', dbPath]);
  assert.equal(cli.code, 0, `cxr store check after ${rounds} kills: ${cli.lines.join('\n')} ${cli.stderr}`);
  console.log(`# crash test: ${rounds} kills, ${imports.size} acknowledged imports and ${edits.size} images with acknowledged edits checked (${acked} acks)`);
});
