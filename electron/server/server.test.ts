import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, MAX_REQUEST_BYTES, type RunningServer } from './index';
import { Workstation } from '../core/api/index';
import { encodeWire, decodeWire } from '../contract/wire';
import { tempDbPath, tempDir } from '../testing/index';

let ws: Workstation;
let server: RunningServer;
let base: string;

before(async () => {
  const staticDir = tempDir();
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>t</title>');
  ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  server = await startServer({ workstation: ws, staticDir });
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  await server.close();
  await ws.close();
});

const call = (name: string, req: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/call/${name}`, { method: 'POST', body: Buffer.from(encodeWire(req)), headers: { Authorization: `Bearer ${server.token}`, ...headers } });
const reply = async (r: Response) => decodeWire(new Uint8Array(await r.arrayBuffer())) as { ok: boolean; value?: any; error?: { code: string } };

test('listens on 127.0.0.1 only, with a long random token in the URL', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
});

test('a call with the token runs through the contract', async () => {
  const r = await call('app:info', {});
  assert.equal(r.status, 200);
  const body = await reply(r);
  assert.equal(body.ok, true);
  assert.equal(body.value.transport, 'http');
  const list = await reply(await call('cases:list', {}));
  assert.deepEqual(list.value, { total: 0, rows: [] });
});

test('no token, a wrong token or another origin is refused', async () => {
  assert.equal((await fetch(`${base}/api/call/app:info`, { method: 'POST', body: Buffer.from(encodeWire({})) })).status, 401);
  assert.equal((await call('app:info', {}, { Authorization: 'Bearer nope' })).status, 401);
  assert.equal((await call('app:info', {}, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await fetch(`${base}/api/events`)).status, 401);
});

test('requests with a foreign Host header (DNS rebinding) are refused', async () => {
  const http = await import('node:http');
  const status = await new Promise<number>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: '/', headers: { Host: `attacker.example:${server.port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.end();
  });
  assert.equal(status, 403);
});

test('invalid requests get BAD_REQUEST, unknown calls UNKNOWN_CALL', async () => {
  assert.equal((await reply(await call('cases:get', { caseId: 'x' }))).error?.code, 'BAD_REQUEST');
  assert.equal((await reply(await call('nope:nope', {}))).error?.code, 'UNKNOWN_CALL');
  assert.equal((await reply(await call('cases:get', { caseId: 42 }))).error?.code, 'NOT_FOUND');
  const garbage = await fetch(`${base}/api/call/app:info`, { method: 'POST', body: 'not wire', headers: { Authorization: `Bearer ${server.token}` } });
  assert.equal(garbage.status, 400);
});

test('an oversized request is refused before it is read', async () => {
  const http = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path: '/api/call/import:file', method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Length': String(MAX_REQUEST_BYTES + 1) } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.write(Buffer.alloc(1024));
  });
  assert.equal(status, 413);
});

test('static files are served with a strict CSP and no path traversal', async () => {
  const r = await fetch(`${base}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal((await fetch(`${base}/..%2f..%2fetc%2fpasswd`)).status, 404);
});

test('events reach the page over server-sent events', async () => {
  const ctrl = new AbortController();
  const r = await fetch(`${base}/api/events?token=${server.token}`, { signal: ctrl.signal });
  assert.equal(r.headers.get('content-type'), 'text/event-stream');
  const reader = r.body!.getReader();
  await reader.read();
  ws.emit('cases:onChanged', { caseIds: [7] });
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /event: cases:onChanged\ndata: \{"caseIds":\[7\]\}/);
  ctrl.abort();
});
