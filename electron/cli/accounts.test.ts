import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CaseStore } from '../core/store/index';
import { tempDir } from '../testing/index';
import { cxrProcess } from '../testing/cli';

const cxr = (args: string[], input = '') => cxrProcess(args, { input, timeoutMs: 60_000 });

test('cxr users: the first account must be an administrator; create, list, disable; passwords from standard input', () => {
  const db = path.join(tempDir(), 'cases.sqlite');
  const early = cxr(['users', 'create', 'ada', '--role', 'radiologist', '--name', 'Dr Ada', '--db', db], 'ada-password-1\n');
  assert.equal(early.code, 1);
  assert.match(early.stderr, /first account must be an administrator/);
  assert.equal(cxr(['users', 'create', 'root', '--role', 'administrator', '--name', 'IT', '--db', db], 'root-password-1\n').code, 0);
  const weak = cxr(['users', 'create', 'ada', '--role', 'radiologist', '--name', 'Dr Ada', '--db', db], 'short\n');
  assert.equal(weak.code, 1);
  assert.match(weak.stderr, /at least 8 characters/);
  assert.equal(cxr(['users', 'create', 'ada', '--role', 'radiologist', '--name', 'Dr Ada', '--db', db, '--json'], 'ada-password-1\n').code, 0);
  assert.equal(cxr(['users', 'disable', 'ada', '--db', db]).code, 0);
  assert.equal(cxr(['users', 'disable', 'nobody', '--db', db]).code, 1);
  const list = cxr(['users', 'list', '--db', db, '--json']).lines.map((l) => JSON.parse(l));
  assert.deepEqual(list.map((u) => [u.username, u.role, u.disabled]), [['ada', 'radiologist', true], ['root', 'administrator', false]]);
  assert.equal(cxr(['users', 'create', 'x', '--db', db]).code, 2);
  // lead radiologists: set at creation or later, radiologists only
  assert.equal(cxr(['users', 'create', 'lee', '--role', 'radiologist', '--name', 'Dr Lee', '--lead', '--db', db], 'lee-password-1\n').code, 0);
  assert.equal(cxr(['users', 'lead', 'ada', '--db', db]).code, 0);
  assert.equal(cxr(['users', 'lead', 'lee', '--off', '--db', db]).code, 0);
  const lead = cxr(['users', 'lead', 'root', '--db', db]);
  assert.equal(lead.code, 1);
  assert.match(lead.stderr, /Only a radiologist account can be a lead radiologist/);
  const leads = cxr(['users', 'list', '--db', db, '--json']).lines.map((l) => JSON.parse(l));
  assert.deepEqual(leads.map((u) => [u.username, u.lead]), [['ada', true], ['lee', false], ['root', false]]);
});

test('cxr audit verify: intact chain exits 0; a tampered entry is named and exits 1', () => {
  const db = path.join(tempDir(), 'cases.sqlite');
  cxr(['users', 'create', 'root', '--role', 'administrator', '--name', 'IT', '--db', db], 'root-password-1\n');
  cxr(['users', 'create', 'ada', '--role', 'radiologist', '--name', 'Dr Ada', '--db', db], 'ada-password-1\n');
  cxr(['users', 'disable', 'ada', '--db', db]);
  const ok = cxr(['audit', 'verify', '--db', db, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.lines[0]).entries, 3);
  // tamper with the file the way another SQLite tool could: without the app's append-only trigger
  const raw = CaseStore.open(db);
  raw.db.exec('DROP TRIGGER audit_log_no_update');
  raw.db.exec("UPDATE audit_log SET actor_name = 'someone' WHERE id = 2");
  raw.close();
  const bad = cxr(['audit', 'verify', '--db', db]);
  assert.equal(bad.code, 1);
  assert.match(bad.lines[0], /BROKEN at entry 2/);
  assert.equal(cxr(['audit', 'list', '--db', db, '--json']).lines.length, 3);
});
