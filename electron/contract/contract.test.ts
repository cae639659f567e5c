import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWire, decodeWire, WireFormatError } from './wire';
import { contract, callNames, eventNames, isCallName, WorklistQuery } from './index';
import { CALL_NAMES, EVENT_NAMES, isKnownCall } from './names';

test('the wire format carries bytes as bytes, beside JSON', () => {
  const bytes = new Uint8Array([0, 1, 2, 255]);
  const msg = { ok: true, value: { imageId: 3, bytes, nested: [{ more: new Uint8Array(3) }], text: 'é' } };
  const enc = encodeWire(msg);
  assert.ok(enc.byteLength < 200);
  const dec = decodeWire(enc) as typeof msg;
  assert.ok(dec.value.bytes instanceof Uint8Array);
  assert.deepEqual([...dec.value.bytes], [0, 1, 2, 255]);
  assert.equal(dec.value.nested[0].more.byteLength, 3);
  assert.equal(dec.value.text, 'é');
});

test('a malformed wire message is refused, not half-read', () => {
  assert.throws(() => decodeWire(new Uint8Array([1, 2, 3])), WireFormatError);
  const enc = encodeWire({ b: new Uint8Array(10) });
  assert.throws(() => decodeWire(enc.subarray(0, enc.byteLength - 1)), WireFormatError);
  assert.throws(() => decodeWire(enc.subarray(0, 10)), WireFormatError);
});

test('every call has a request and a response schema', () => {
  for (const name of callNames) {
    assert.ok(contract[name].request, name);
    assert.ok(contract[name].response, name);
    assert.match(name, /^[a-z]+:[a-zA-Z]+$/);
  }
  assert.equal(isCallName('cases:list'), true);
  assert.equal(isCallName('__proto__'), false);
  assert.equal(isCallName('toString'), false);
});

test('request schemas reject what they should', () => {
  assert.equal(contract['import:file'].request.safeParse({ name: 'a.dcm', bytes: [1, 2, 3] }).success, false, 'numbers are not bytes');
  assert.equal(contract['import:file'].request.safeParse({ name: '', bytes: new Uint8Array(1) }).success, false);
  assert.equal(contract['import:file'].request.safeParse({ name: 'a.dcm', bytes: new Uint8Array(1) }).success, true);
  assert.equal(WorklistQuery.safeParse({ sort: { key: 'patientName; DROP TABLE studies', dir: 'asc' } }).success, false);
  assert.equal(WorklistQuery.safeParse({ limit: 100000 }).success, false);
  const d = WorklistQuery.parse({});
  assert.deepEqual(d.sort, { key: 'importedAt', dir: 'desc' });
  assert.equal(d.limit, 100);
});

test('the preload name lists match the contract exactly', () => {
  assert.deepEqual([...CALL_NAMES].sort(), [...callNames].sort());
  assert.deepEqual([...EVENT_NAMES].sort(), [...eventNames].sort());
  assert.equal(isKnownCall('constructor'), false);
});

test('no two domains claim the same call or event name', async () => {
  const { domains } = await import('./index');
  const seen = new Map<string, string>();
  for (const [domain, d] of Object.entries(domains)) {
    for (const name of [...d.calls, ...d.events]) {
      assert.equal(seen.get(name), undefined, `${name} is claimed by ${seen.get(name)} and ${domain}`);
      seen.set(name, domain);
    }
  }
});
