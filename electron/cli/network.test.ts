// `cxr receive` and `cxr pacs` as a clinic's IT person runs them: the receiver takes storescu's images until
// interrupted; an archive (a real Orthanc on loopback ports) is added, tested, queried, retrieved from and sent to.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, repoRoot } from '../testing/index';
import { cxrProcess as cxr } from '../testing/cli';
import { syntheticDicom } from '../../bench/synthetic';
import { TestOrthanc, freePort, orthancMissing } from '../core/network/testOrthanc';
import { readIdentity } from '../core/network/index';
import { missingTools } from '../testing/tools';

const dir = tempDir('cxr-cli-net-');
let orthanc: TestOrthanc | null = null;
after(async () => {
  await orthanc?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cxr receive takes pushed images into the worklist until interrupted', { skip: missingTools('storescu'), timeout: 90_000 }, async () => {
  const db = path.join(dir, 'receive.sqlite');
  const port = await freePort();
  const file = path.join(dir, 'pushed.dcm');
  fs.writeFileSync(file, syntheticDicom(256, 256, 4101));
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'cxr.mjs'), 'receive', '--aet', 'CXRCLI', '--port', String(port), '--allow', 'XRAYROOM1', '--no-model', '--db', db, '--json'], { cwd: repoRoot });
  const lines: string[] = [];
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const wait = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!ok()) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cxr receive: no ${what}; output: ${lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const parsed = () => lines.map((l) => JSON.parse(l) as { listening?: unknown; received?: { outcome: string; callingAe: string } });
    await wait('listening line', () => parsed().some((l) => l.listening));
    const sent = await new Promise<number>((resolve) => execFile('storescu', ['-aet', 'XRAYROOM1', '-aec', 'CXRCLI', '127.0.0.1', String(port), file], (err) => resolve(err ? 1 : 0)));
    assert.equal(sent, 0);
    await wait('received line', () => parsed().some((l) => l.received));
    const received = parsed().find((l) => l.received)!.received!;
    assert.equal(received.outcome, 'imported');
    assert.equal(received.callingAe, 'XRAYROOM1');
  } finally {
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  }
  const cases = cxr(['cases', '--db', db, '--json']);
  assert.equal(cases.lines.length, 1);
});

test('cxr pacs: add, list, echo, query, retrieve, send and the queue against Orthanc', { skip: orthancMissing() ?? false, timeout: 120_000 }, async () => {
  orthanc = await TestOrthanc.start();
  const db = path.join(dir, 'pacs.sqlite');
  const image = syntheticDicom(256, 256, 4201);
  await orthanc.upload(image);
  const id = readIdentity(image);

  assert.equal(cxr(['pacs', 'add', 'PACS', '--dimse', `127.0.0.1:${orthanc.dicomPort}`, '--aet', orthanc.aeTitle, '--send-results', '--db', db]).code, 0);
  const bad = cxr(['pacs', 'add', 'Broken', '--dimse', 'nowhere', '--db', db, '--json']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /HOST:PORT/);
  const list = cxr(['pacs', 'list', '--db', db, '--json']);
  assert.equal(JSON.parse(list.lines[0]).aeTitle, orthanc.aeTitle);
  assert.equal(cxr(['pacs', 'echo', 'PACS', '--db', db]).code, 0);

  const q = cxr(['pacs', 'query', 'PACS', '--id', 'BENCH4201', '--db', db, '--json']);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(JSON.parse(q.lines[0]).studyInstanceUid, id.studyInstanceUid);
  const r = cxr(['pacs', 'retrieve', 'PACS', id.studyInstanceUid, '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.lines[0]).imported, 1);

  const other = syntheticDicom(128, 128, 4202);
  const file = path.join(dir, 'other.dcm');
  fs.writeFileSync(file, other);
  const s = cxr(['pacs', 'send', 'PACS', file, '--db', db, '--json']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(JSON.parse(s.lines[0]).state, 'sent');
  assert.equal((await orthanc.findInstance(readIdentity(other).sopInstanceUid)).length, 1);
  const queue = JSON.parse(cxr(['pacs', 'queue', '--db', db, '--json']).lines[0]);
  assert.equal(queue.counts.sent, 1);
  const unknown = cxr(['pacs', 'echo', 'Nowhere', '--db', db]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no archive called "Nowhere"; there are: PACS/);
});
