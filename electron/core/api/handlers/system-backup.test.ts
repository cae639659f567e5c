// The backup, restore and data-protection calls, through the dispatcher as the settings page makes them.
// Run: node --import tsx --test electron/core/api/handlers/system-backup.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import { Workstation } from '../index';
import { signIn } from '../../../testing/accounts';
import { tempDir } from '../../../testing/index';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;

function png(n: number): Uint8Array {
  const img = new PNG({ width: 64, height: 64, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let i = 0; i < 64 * 64; i++) img.data[i] = (i * (n + 5)) & 255;
  return new Uint8Array(PNG.sync.write(img, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}

async function ok<T>(p: Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }>): Promise<T> {
  const r = await p;
  assert.ok(r.ok, `call failed: ${r.error?.code}: ${r.error?.message}`);
  return r.value as T;
}

test('settings: protection status, recovery passphrase, backup now, list, and a confirmed restore that applies at restart', async () => {
  const dbPath = path.join(tempDir(), 'cxr.sqlite');
  let ws = new Workstation({ dbPath, transport: 'http' });
  await signIn(ws, 'administrator', 'admin');
  await ok(ws.dispatch('import:file', { name: 'a.png', bytes: png(1) }));

  const prot = await ok<{ encrypted: boolean; protectors: string[] }>(ws.dispatch('system:dataProtection', {}));
  assert.equal(prot.encrypted, true);
  assert.deepEqual(prot.protectors, ['file']);
  const short = await ws.dispatch('system:setRecoveryPassphrase', { passphrase: 'short' });
  assert.equal(short.ok, false);
  const set = await ok<{ protectors: string[]; passphraseSetAt: string | null }>(ws.dispatch('system:setRecoveryPassphrase', { passphrase: 'a clinic recovery phrase' }));
  assert.ok(set.protectors.includes('passphrase') && set.passphraseSetAt);

  const b = await ok<{ path: string; cases: number; portable: boolean }>(ws.dispatch('system:backup', {}));
  assert.equal(path.dirname(b.path), path.join(path.dirname(dbPath), 'backups'));
  assert.equal(b.cases, 1);
  assert.equal(b.portable, true);
  const listed = await ok<{ backups: { path: string }[] }>(ws.dispatch('system:listBackups', {}));
  assert.deepEqual(listed.backups.map((x) => x.path), [b.path]);

  await ok(ws.dispatch('import:file', { name: 'b.png', bytes: png(2) }));
  const unconfirmed = await ws.dispatch('system:restore', { path: b.path });
  assert.equal(unconfirmed.ok, false, 'a restore without confirm: true is refused');
  const events: unknown[] = [];
  ws.on('system:onRestartRequired', (p) => events.push(p));
  const r = await ok<{ restartRequired: boolean; previous: string }>(ws.dispatch('system:restore', { path: b.path, confirm: true }));
  assert.equal(r.restartRequired, true);
  assert.equal(events.length, 1);
  const cases = await ok<{ total: number }>(ws.dispatch('cases:list', {}));
  assert.equal(cases.total, 2, 'nothing replaced under the running app');
  await ws.close();

  ws = new Workstation({ dbPath, transport: 'http' });
  await signIn(ws, 'administrator', 'admin');
  assert.equal((await ok<{ total: number }>(ws.dispatch('cases:list', {}))).total, 1, 'the restart put the backup in place');
  assert.ok(fs.existsSync(r.previous));
  const missing = await ws.dispatch('system:restore', { path: path.join(tempDir(), 'nope.cxrbak'), confirm: true });
  assert.equal(missing.ok, false);
  assert.equal(missing.ok === false && missing.error.code, 'FILE_UNREADABLE');
  await ws.close();
});

test('only an administrator backs up, restores or sets the recovery passphrase', async () => {
  const ws = new Workstation({ dbPath: path.join(tempDir(), 'cxr.sqlite'), transport: 'http' });
  try {
    await signIn(ws, 'radiologist', 'rad');
    for (const [name, req] of [
      ['system:backup', {}],
      ['system:restore', { path: '/nonexistent.cxrbak', confirm: true }],
      ['system:setRecoveryPassphrase', { passphrase: 'a clinic recovery phrase' }],
      ['system:listBackups', {}],
    ] as const) {
      const r = await ws.dispatch(name, req);
      assert.equal(r.ok, false, name);
      if (!r.ok) assert.equal(r.error.code, 'FORBIDDEN', `${name}: ${r.error.message}`);
    }
  } finally {
    await ws.close();
  }
});
