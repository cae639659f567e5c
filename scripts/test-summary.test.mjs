import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from './test-summary.mjs';

const run = { ran: ['type check 20 s', 'unit tests 300 s'], minutes: '5.3', failed: null, ci: false };
const tool = { stage: 'unit', name: 'SR valid per dciodvfy', reason: 'missing tool: dciodvfy (Debian package dicom3tools; scripts/install-system-packages.sh installs it)' };
const data = { stage: 'e2e', name: 'opens the desktop window', reason: 'Electron binary not installed here' };

test('the closing lines list every skip with its reason, and pass when no tool is missing', () => {
  const { lines, exitCode } = summarize([data, { ...data, name: 'menus' }], run);
  assert.equal(exitCode, 0);
  assert.deepEqual(lines, [
    'npm test: type check 20 s, unit tests 300 s (5.3 min in all)',
    'npm test: 2 tests skipped (2 e2e):',
    '  - 2 × e2e: Electron binary not installed here [opens the desktop window; menus]',
    'npm test: passed (none of the skips is for want of a tool)',
  ]);
  assert.equal(summarize([], run).lines.at(-2), 'npm test: no test skipped');
});

test('a skip for a missing tool is said outside CI and fails the run under CI', () => {
  const here = summarize([tool, data], run);
  assert.equal(here.exitCode, 0);
  assert.match(here.lines.at(-1), /passed, but 1 test did not run for want of a tool/);
  const ci = summarize([tool, data], { ...run, ci: true });
  assert.equal(ci.exitCode, 1);
  assert.match(ci.lines.at(-1), /FAILED: 1 test skipped for a missing tool under CI/);
  assert.ok(ci.lines.some((l) => l.includes('1 × unit: missing tool: dciodvfy')));
});

test('a failed stage fails the run, whatever skipped', () => {
  const r = summarize([data], { ...run, failed: 'unit tests' });
  assert.equal(r.exitCode, 1);
  assert.equal(r.lines.at(-1), 'npm test: FAILED in the unit tests');
});
