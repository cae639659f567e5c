// `npm test`: the type check, the layer rules, the unit tests, the training code's tests and the end-to-end tests in
// Chromium, in that order, stopping at the first stage that fails. Its last lines say what ran, and list every test
// that skipped and why. A skip for a missing system tool ("missing tool: ...", see electron/testing/tools.ts) is a
// failure under CI (CI=true), where scripts/install-system-packages.sh has installed every tool the tests use.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarize } from './test-summary.mjs';

const STAGES = [
  { name: 'type check', cmd: ['npm', 'run', '--silent', 'typecheck'] },
  { name: 'layer rules', cmd: ['npm', 'run', '--silent', 'lint:layers'] },
  { name: 'unit tests', cmd: ['npm', 'run', '--silent', 'test:unit'] },
  { name: 'python tests', cmd: ['npm', 'run', '--silent', 'test:py'] },
  { name: 'e2e tests', cmd: ['npm', 'run', '--silent', 'test:e2e'] },
];

const skipLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-npm-test-')), 'skips.jsonl');
fs.writeFileSync(skipLog, '');
const started = Date.now();
const ran = [];
let failed = null;
for (const stage of STAGES) {
  const t0 = Date.now();
  const r = spawnSync(stage.cmd[0], stage.cmd.slice(1), { stdio: 'inherit', env: { ...process.env, CXR_SKIP_LOG: skipLog } });
  ran.push(`${stage.name} ${Math.round((Date.now() - t0) / 1000)} s`);
  if (r.status !== 0) {
    failed = stage.name;
    break;
  }
}

const skips = fs
  .readFileSync(skipLog, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
fs.rmSync(path.dirname(skipLog), { recursive: true, force: true });
const { lines, exitCode } = summarize(skips, { ran, minutes: ((Date.now() - started) / 60_000).toFixed(1), failed, ci: process.env.CI === 'true' });
console.log(`\n${lines.join('\n')}`);
process.exit(exitCode);
