// The store check finds each kind of damage it promises to find, and passes a healthy store; `cxr store check` exits
// 0 on a healthy store and 1, naming the problem, on a damaged one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CaseStore } from '../store/index';
import { importBytes } from '../importing/index';
import { appendAudit } from '../accounts/audit';
import { makeDicom, testImage, TS } from '../imaging/testFixtures';
import { tempDbPath } from '../../testing/index';
import { cxrProcess } from '../../testing/cli';
import { checkStore } from './index';

function png(seed: number): Uint8Array {
  const img = new PNG({ width: 16, height: 16, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let i = 0; i < 256; i++) img.data[i] = (i * seed) & 255;
  return new Uint8Array(PNG.sync.write(img, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}

/** A store with a PNG (pixels in their own file) and an uncompressed DICOM (pixels read from the original). */
async function healthyStore(): Promise<{ dbPath: string; pngImage: number; dicomImage: number }> {
  const dbPath = tempDbPath();
  const store = CaseStore.open(dbPath);
  try {
    const a = await importBytes(store, png(3), 'a.png');
    const b = await importBytes(store, makeDicom({ transferSyntax: TS.explicitLE, rows: 24, columns: 20, bitsStored: 12, pixels: testImage(24, 20, 12) }), 'b.dcm');
    assert.equal(a.status, 'imported');
    assert.equal(b.status, 'imported');
    appendAudit(store.db, { actor: { userId: null, username: 'test' }, action: 'test.entry', target: null, details: { n: 1 } });
    appendAudit(store.db, { actor: { userId: null, username: 'test' }, action: 'test.entry', target: null, details: { n: 2 } });
    return { dbPath, pngImage: a.status === 'imported' ? a.imageId : 0, dicomImage: b.status === 'imported' ? b.imageId : 0 };
  } finally {
    store.close();
  }
}

function check(dbPath: string, damage?: (store: CaseStore) => void) {
  const store = CaseStore.open(dbPath);
  try {
    damage?.(store);
    return checkStore(store);
  } finally {
    store.close();
  }
}

test('a healthy store passes every check, and the report says what it covered', async () => {
  const { dbPath } = await healthyStore();
  const r = check(dbPath);
  assert.deepEqual(r.problems, []);
  assert.equal(r.ok, true);
  assert.deepEqual({ images: r.checked.images, blobs: r.checked.blobs, audit: r.checked.auditEntries }, { images: 2, blobs: 3, audit: 2 });
  assert.match(r.auditHeadSha256 ?? '', /^[0-9a-f]{64}$/);
});

test('a damaged or missing image file is found, for pixels in their own file and for pixels inside the original', async () => {
  const { dbPath, pngImage, dicomImage } = await healthyStore();
  const flipLastByte = (f: string) => {
    const b = fs.readFileSync(f);
    b[b.length - 1] ^= 1;
    fs.writeFileSync(f, b);
  };
  const r = check(dbPath, (store) => {
    const png = store.getImage(pngImage);
    fs.rmSync(store.blobPath('pixels', png.pixelSha256));
    const dicomOriginal = store.db.prepare('SELECT source_sha256 FROM images WHERE id = ?').pluck().get(dicomImage) as string;
    flipLastByte(store.blobPath('originals', dicomOriginal));
  });
  assert.equal(r.ok, false);
  const messages = r.problems.filter((p) => p.area === 'images').map((p) => p.message);
  assert.ok(messages.some((m) => m.startsWith(`image ${pngImage} (a.png)`) && /missing/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith(`image ${dicomImage} (b.dcm)`) && /damaged/.test(m)), messages.join('\n'));
});

test('a rewritten audit entry, a changed signature snapshot and a dangling reference are each found', async () => {
  const { dbPath } = await healthyStore();
  const r = check(dbPath, (store) => {
    const db = store.db;
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET actor_name = 'mallory' WHERE id = 1").run();
    db.prepare(
      "INSERT INTO users (username, display_name, role, password_hash, created_at, created_by) VALUES ('rad', 'Dr Rad', 'radiologist', 'x', '2026-01-01', 'test')",
    ).run();
    db.prepare(
      "INSERT INTO signatures (case_ref, sequence, signer_ref, signer_name, signed_at, content_json, content_sha256, report_present) VALUES (1, 1, 1, 'Dr Rad', '2026-01-01', '{\"a\":1}', ?, 0)",
    ).run('0'.repeat(64));
    db.pragma('foreign_keys = OFF');
    db.prepare("INSERT INTO report_versions (case_ref, version, source, text, findings_fingerprint, author, saved_at) VALUES (999, 1, 'draft', 't', 'f', 'a', 'now')").run();
    db.pragma('foreign_keys = ON');
  });
  const areas = new Set(r.problems.map((p) => p.area));
  assert.deepEqual([...areas].sort(), ['audit', 'foreign_keys', 'signatures'], JSON.stringify(r.problems));
  assert.match(r.problems.find((p) => p.area === 'audit')!.message, /entry 1/);
});

test('damage to the database file itself is found, and the other checks still run', async () => {
  const { dbPath } = await healthyStore();
  const store = CaseStore.open(dbPath);
  // a table of our own, so that the damaged page is one that opening the store does not read
  store.db.exec('CREATE TABLE filler (x BLOB)');
  store.db.prepare('INSERT INTO filler VALUES (randomblob(20000))').run();
  const root = store.db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'filler'").pluck().get() as number;
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  store.close();
  // one byte of that page (SQLCipher authenticates every page: the page no longer reads)
  const bytes = fs.readFileSync(dbPath);
  bytes[(root - 1) * pageSize + 100] ^= 0xff;
  fs.writeFileSync(dbPath, bytes);
  const r = check(dbPath);
  assert.equal(r.ok, false);
  assert.ok(r.problems.some((p) => p.area === 'sqlite'), JSON.stringify(r.problems));
});

test('cxr store check: exit 0 on a healthy store, 1 with the problem named on a damaged one', async () => {
  const { dbPath, pngImage } = await healthyStore();
  const good = cxrProcess(['store', 'check', '--db', dbPath]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.lines.at(-1) ?? '', /^ok: schema \d+, 2 images \(3 files decrypted and hashed\), 2 audit entries \(head [0-9a-f]{64}\), 0 signatures$/);
  const store = CaseStore.open(dbPath);
  fs.rmSync(store.blobPath('pixels', store.getImage(pngImage).pixelSha256));
  store.close();
  const bad = cxrProcess(['store', 'check', '--db', dbPath, '--json']);
  assert.equal(bad.code, 1);
  const report = JSON.parse(bad.lines[0]);
  assert.equal(report.ok, false);
  assert.equal(report.problems[0].area, 'images');
  assert.equal(cxrProcess(['store', 'frobnicate', '--db', dbPath]).code, 2);
  assert.equal(cxrProcess(['store', 'check', '--db', path.join(path.dirname(dbPath), 'missing', 'x.sqlite'), '--bogus']).code, 2);
});
