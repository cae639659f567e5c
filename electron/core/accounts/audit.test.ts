import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendAudit, canonicalJson, listAudit, verifyAudit, GENESIS_HASH } from './audit';
import { storeWithCase } from './testSupport';

const actor = { userId: null, username: 'tester' };

function fill(db: import('better-sqlite3').Database, n: number) {
  for (let i = 0; i < n; i++) appendAudit(db, { actor, action: 'annotations.save', target: { type: 'image', id: i }, details: { version: i, z: [1, { b: 2, a: 1 }] } }, `2026-03-01T10:00:0${i}Z`);
}

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: undefined } }), '{"a":{"d":[3,{"x":2,"y":1}]},"b":1}');
});

test('entries chain: each names the previous entry hash; the log refuses UPDATE and DELETE', () => {
  const { store } = storeWithCase();
  const db = store.db;
  assert.deepEqual(verifyAudit(db), { ok: true, entries: 0, headSha256: GENESIS_HASH });
  fill(db, 5);
  const entries = listAudit(db).reverse();
  assert.equal(entries[0].prevSha256, GENESIS_HASH);
  for (let i = 1; i < entries.length; i++) assert.equal(entries[i].prevSha256, entries[i - 1].sha256);
  assert.deepEqual(entries[2].details, { version: 2, z: [1, { a: 1, b: 2 }] });
  const v = verifyAudit(db);
  assert.equal(v.ok, true);
  assert.equal(v.ok && v.headSha256, entries[4].sha256);
  assert.throws(() => db.prepare("UPDATE audit_log SET actor_name = 'someone else' WHERE id = 2").run(), /AUDIT_APPEND_ONLY/);
  assert.throws(() => db.prepare('DELETE FROM audit_log WHERE id = 5').run(), /AUDIT_APPEND_ONLY/);
  // appended inside a caller's transaction that fails: neither the change nor its entry remains
  assert.throws(() =>
    db.transaction(() => {
      appendAudit(db, { actor, action: 'report.save', target: { type: 'case', id: 1 } });
      throw new Error('the save failed');
    })(),
  );
  assert.equal(listAudit(db).length, 5);
  store.close();
});

test('a tampered entry is detected and named, whichever field was changed; a removed entry too', () => {
  for (const tamper of [
    "UPDATE audit_log SET actor_name = 'mallory' WHERE id = 3",
    "UPDATE audit_log SET details_json = '{\"version\":99,\"z\":[1,{\"a\":1,\"b\":2}]}' WHERE id = 3",
    "UPDATE audit_log SET at = '2020-01-01T00:00:00Z' WHERE id = 3",
  ]) {
    const { store } = storeWithCase();
    const db = store.db;
    fill(db, 5);
    // bypass the append-only trigger, as someone editing the file with another tool could
    db.exec('DROP TRIGGER audit_log_no_update');
    db.exec(tamper);
    const v = verifyAudit(db);
    assert.equal(v.ok, false, tamper);
    assert.equal(!v.ok && v.brokenAt, 3);
    assert.match(!v.ok ? v.reason : '', /entry 3 .*altered/);
    store.close();
  }
  // re-hashing the altered entry moves the break to the next one
  {
    const { store } = storeWithCase();
    const db = store.db;
    fill(db, 5);
    db.exec('DROP TRIGGER audit_log_no_update');
    db.exec("UPDATE audit_log SET sha256 = 'f' || substr(sha256, 2) WHERE id = 2");
    const v = verifyAudit(db);
    assert.equal(!v.ok && v.brokenAt, 2);
    store.close();
  }
  {
    const { store } = storeWithCase();
    const db = store.db;
    fill(db, 5);
    db.exec('DROP TRIGGER audit_log_no_delete');
    db.exec('DELETE FROM audit_log WHERE id = 2');
    const v = verifyAudit(db);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.brokenAt, 3);
    assert.match(!v.ok ? v.reason : '', /entry 2 is missing/);
    store.close();
  }
});
