// `cxr backup`, `cxr restore` and `cxr passphrase`, as an IT person runs them.
// Run: node --import tsx --test electron/cli/backup.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, datasetsDir } from '../testing/index';
import { cxrProcess as cxr } from '../testing/cli';

const sample = path.join(datasetsDir, 'dicom_samples', 'nema_cr_mono1_10_chest_no_part10_header.dcm');
const skip = fs.existsSync(sample) ? false : 'shared DICOM samples not found';

test('cxr backup OUT, then cxr restore IN --yes brings the store back; without --yes nothing changes', { skip }, () => {
  const dir = tempDir();
  const db = path.join(dir, 'cxr.sqlite');
  assert.equal(cxr(['import', sample, '--db', db, '--json']).code, 0);
  const out = tempDir('cxr-backups-');
  const b = cxr(['backup', out, '--db', db, '--json']);
  assert.equal(b.code, 0, b.stderr);
  const made = JSON.parse(b.lines[0]);
  assert.equal(made.cases, 1);
  assert.ok(fs.existsSync(made.path));

  const extra = path.join(datasetsDir, 'dicom_samples', 'siim_cr_chest_pa_jpegbaseline.dcm');
  assert.equal(cxr(['import', extra, '--db', db, '--json']).code, 0);
  assert.equal(cxr(['cases', '--db', db, '--json']).lines.length, 2);

  const ask = cxr(['restore', made.path, '--db', db]);
  assert.equal(ask.code, 2);
  assert.match(ask.stderr, /run again with --yes/);
  assert.equal(cxr(['cases', '--db', db, '--json']).lines.length, 2, 'nothing restored without --yes');

  const r = cxr(['restore', made.path, '--db', db, '--yes', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.existsSync(JSON.parse(r.lines[0]).previous));
  assert.equal(cxr(['cases', '--db', db, '--json']).lines.length, 1);

  fs.writeFileSync(path.join(out, 'broken.cxrbak'), fs.readFileSync(made.path).subarray(0, 5000));
  const bad = cxr(['restore', path.join(out, 'broken.cxrbak'), '--db', db, '--yes', '--json']);
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stderr.trim()).error.code, 'BACKUP_INVALID');
  assert.equal(cxr(['cases', '--db', db, '--json']).lines.length, 1, 'a damaged backup changes nothing');
});

test('cxr passphrase sets the recovery passphrase; a backup then opens on another station with CXR_PASSPHRASE', { skip }, () => {
  const db = path.join(tempDir(), 'cxr.sqlite');
  assert.equal(cxr(['import', sample, '--db', db]).code, 0);
  const short = cxr(['passphrase', '--db', db], { input: 'too short\n' });
  assert.equal(short.code, 1);
  assert.match(short.stderr, /12 characters/);
  const p = cxr(['passphrase', '--db', db, '--json'], { input: 'clinic recovery phrase 2026\n' });
  assert.equal(p.code, 0, p.stderr);
  assert.ok(JSON.parse(p.lines[0]).protectors.includes('passphrase'));
  const b = JSON.parse(cxr(['backup', path.join(tempDir(), 'x.cxrbak'), '--db', db, '--json']).lines[0]);
  assert.equal(b.portable, true);

  const elsewhere = path.join(tempDir(), 'cxr.sqlite');
  const refused = cxr(['restore', b.path, '--db', elsewhere, '--yes', '--json']);
  assert.equal(refused.code, 1);
  assert.equal(JSON.parse(refused.stderr.trim()).error.code, 'DB_KEY_UNAVAILABLE');
  const ok = cxr(['restore', b.path, '--db', elsewhere, '--yes', '--json'], { env: { CXR_PASSPHRASE: 'clinic recovery phrase 2026' } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(cxr(['cases', '--db', elsewhere, '--json'], { env: { CXR_PASSPHRASE: 'clinic recovery phrase 2026' } }).lines.length, 1);
});
