import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, datasetsDir } from '../testing/index';
import { cxrProcess as cxr } from '../testing/cli';

test('cxr import --json prints one line per file and fails the exit code when a file failed', () => {
  const dir = tempDir();
  const db = path.join(dir, 'cases.sqlite');
  fs.writeFileSync(path.join(dir, 'bad.dcm'), 'Radiology department phone list, not an image.\n');
  const samples = path.join(datasetsDir, 'dicom_samples');
  const inputs = [path.join(dir, 'bad.dcm')];
  if (fs.existsSync(samples)) inputs.push(path.join(samples, 'siim_cr_chest_pa_jpegbaseline.dcm'), path.join(samples, 'nema_cr_mono1_10_chest_no_part10_header.dcm'));
  const r = cxr(['import', ...inputs, '--db', db, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const rows = r.lines.map((l) => JSON.parse(l));
  assert.equal(rows.length, inputs.length);
  const bad = rows.find((x) => x.file.endsWith('bad.dcm'));
  assert.equal(bad.status, 'error');
  assert.equal(bad.error.code, 'NOT_AN_IMAGE');
  for (const ok of rows.filter((x) => !x.file.endsWith('bad.dcm'))) {
    assert.equal(ok.status, 'imported');
    assert.equal(typeof ok.caseId, 'number');
    assert.equal(typeof ok.imageId, 'number');
  }
  const again = cxr(['import', ...inputs.slice(1), '--db', db, '--json']);
  assert.equal(again.code, 0);
  assert.ok(again.lines.every((l) => JSON.parse(l).status === 'duplicate'));
  const cases = cxr(['cases', '--db', db, '--json']);
  assert.equal(cases.code, 0);
  assert.equal(cases.lines.length, inputs.length - 1);
  assert.ok(cases.lines.every((l) => typeof JSON.parse(l).patientId === 'string'));
});

test('cxr refuses a database from a newer app with a clear message', async () => {
  const Database = (await import('better-sqlite3')).default;
  const db = path.join(tempDir(), 'future.sqlite');
  const d = new Database(db);
  d.pragma('user_version = 9999');
  d.close();
  const r = cxr(['cases', '--db', db, '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /DB_NEWER_THAN_APP/);
});

test('cxr with no command prints usage and exits 2; unknown commands too', () => {
  assert.equal(cxr([]).code, 2);
  const r = cxr(['frobnicate', '--db', path.join(tempDir(), 'x.sqlite')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command/);
});

test('cxr import of a folder of links says what it imported and what it skipped, and why', () => {
  const dir = tempDir();
  const samples = path.join(datasetsDir, 'dicom_samples');
  const links = path.join(dir, 'links');
  fs.mkdirSync(links);
  const sample = path.join(samples, 'nema_cr_mono1_10_chest_no_part10_header.dcm');
  if (!fs.existsSync(sample)) return;
  fs.symlinkSync(sample, path.join(links, 'a.dcm'));
  fs.symlinkSync(sample, path.join(links, 'b.dcm'));
  fs.symlinkSync(links, path.join(links, 'loop'));
  const r = cxr(['import', links, '--db', path.join(dir, 'cases.sqlite')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 imported, 0 duplicate, 0 failed, 2 skipped/);
  assert.ok(r.lines.some((l) => /^skipped +.*b\.dcm: SAME_FILE: /.test(l)), r.lines.join('\n'));
  assert.ok(r.lines.some((l) => /^skipped +.*loop: LINK_LOOP: /.test(l)), r.lines.join('\n'));
});
