// The web mode against hostile and broken requests: the addresses that once ended the process, a handler that fails
// unexpectedly, and a seeded fuzzer of raw requests (paths, percent escapes, methods, headers, bodies, with and
// without the token). After each, the server must still answer a proper call; nothing may reach its error log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, type RunningServer } from './index';
import { Workstation } from '../core/api/index';
import { encodeWire, decodeWire } from '../contract/wire';
import { tempDbPath, tempDir } from '../testing/index';
import { picker, seededRandom } from '../testing/random';

let ws: Workstation;
let server: RunningServer;
const logged: string[] = [];

before(async () => {
  const staticDir = tempDir();
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>t</title>');
  ws = new Workstation({ dbPath: tempDbPath(), transport: 'http', network: false });
  server = await startServer({ workstation: ws, staticDir, log: (l) => logged.push(l) });
});
after(async () => {
  await server.close();
  await ws.close();
});

/**
 * One raw request over its own connection; resolves with the status line's code, or 0 if none came back. `halfClose`
 * ends the sending side after the bytes (a server drops a request whose body never completes).
 */
function rawRequest(port: number, bytes: Buffer, waitMs = 3000, halfClose = true): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    const done = () => {
      s.destroy();
      const head = Buffer.concat(got).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve(m ? Number(m[1]) : 0);
    };
    s.on('connect', () => (halfClose ? s.end(bytes) : s.write(bytes)));
    s.on('data', (d) => got.push(d));
    s.on('error', done);
    s.on('close', done);
    s.setTimeout(waitMs, done);
  });
}

async function stillServing(): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${server.port}/api/call/app:info`, { method: 'POST', body: Buffer.from(encodeWire({})), headers: { Authorization: `Bearer ${server.token}` } });
  assert.equal(r.status, 200);
  const reply = decodeWire(new Uint8Array(await r.arrayBuffer())) as { ok: boolean };
  assert.equal(reply.ok, true);
}

const host = () => `127.0.0.1:${server.port}`;

test('a NUL or a broken percent escape in the address is a 400, and the server keeps serving', async () => {
  for (const p of ['/%00', '/index.html%00.png', '/%E0%A4%A', '/%', '/%zz', '/%C0%AF', '/assets/%ff%fe']) {
    const status = await rawRequest(server.port, Buffer.from(`GET ${p} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`));
    assert.ok(status === 400 || status === 404, `${p}: ${status}`);
    await stillServing();
  }
  // the same in a call's name, with the token (it ended the process with an uncaught URIError)
  for (const p of ['/api/call/%E0%A4%A', '/api/call/%00', '/api/call/app%3Ainfo%']) {
    const body = Buffer.from(encodeWire({}));
    const status = await rawRequest(
      server.port,
      Buffer.concat([Buffer.from(`POST ${p} HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${server.token}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]),
    );
    assert.equal(status, 400, p);
    await stillServing();
  }
  // a page of another origin can only make the browser send such a GET (an <img> tag): refused before anything else
  assert.equal(await rawRequest(server.port, Buffer.from(`GET /%00 HTTP/1.1\r\nHost: ${host()}\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n`)), 403);
  assert.deepEqual(logged, []);
});

test('an error a handler did not expect is answered 500 and logged, and the server goes on', async () => {
  const lines: string[] = [];
  const staticDir = tempDir();
  const failing = {
    dispatch: async () => {
      throw new Error('handler blew up');
    },
    on: () => () => undefined,
    // each browser gets a session of its own before its call is dispatched
    openSession: () => ({}),
    closeSession: () => undefined,
  } as unknown as Workstation;
  const s = await startServer({ workstation: failing, staticDir, log: (l) => lines.push(l) });
  try {
    const call = () => fetch(`http://127.0.0.1:${s.port}/api/call/app:info`, { method: 'POST', body: Buffer.from(encodeWire({})), headers: { Authorization: `Bearer ${s.token}` } });
    const r = await call();
    assert.equal(r.status, 500);
    const reply = decodeWire(new Uint8Array(await r.arrayBuffer())) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(reply.error.code, 'INTERNAL');
    assert.doesNotMatch(reply.error.message, /blew up/, 'the details go to the log, not to the page');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /handler blew up/);
    assert.ok(!lines[0].includes(s.token), 'the log never holds the token');
    assert.equal((await call()).status, 500, 'still answering');
  } finally {
    await s.close();
  }
});

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'BREW', 'G\u00e9T', ''];
const SEGMENTS = ['', 'api', 'call', 'events', 'index.html', 'assets', '..', '.', '%2e%2e', '%2f', 'app:info', 'cases:list', 'import:file', 'nope:nope', 'accounts:login', '~', '\u00e9', 'a'.repeat(300)];
const ESCAPES = ['%00', '%E0%A4%A', '%', '%z', '%zz', '%C0%AF', '%ff', '%2F', '%5C', '%25', '%0d%0a', '%E2%80%AE', '%F0%9F%98%80', '%ED%A0%80'];

function fuzzPath(p: ReturnType<typeof picker>): string {
  const parts: string[] = [];
  if (p.chance(0.6)) parts.push('api', p.one(['call', 'events', 'call', 'x']));
  const n = p.int(3);
  for (let i = 0; i < n; i++) {
    let seg = p.one(SEGMENTS);
    if (p.chance(0.4)) {
      const at = p.int(seg.length + 1);
      seg = seg.slice(0, at) + p.one(ESCAPES) + seg.slice(at);
    }
    parts.push(seg);
  }
  let out = `/${parts.join(p.chance(0.1) ? '//' : '/')}`;
  if (p.chance(0.3)) out += `?${p.one(['token=', 'token=%', `token=${server.token}`, 'a=%00&b', '%E0%A4%A', '#x'])}`;
  if (p.chance(0.05)) out = p.one(['*', '//[', 'http://evil.example/', '/\\..\\..\\', '//127.0.0.1/%00', '/ /', '?']);
  return out;
}

function fuzzBody(p: ReturnType<typeof picker>): Buffer {
  switch (p.int(5)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return p.bytes(p.int(2048));
    case 2: {
      const value = p.one<unknown>([{}, { caseId: p.int(5) }, { username: 'admin', password: 'x'.repeat(p.int(20)) }, { name: 'x.png', bytes: new Uint8Array(p.bytes(p.int(512))) }, [1, [2, [3]]], null, 'text']);
      const wire = Buffer.from(encodeWire(value));
      return p.chance(0.3) ? wire.subarray(0, p.int(wire.length)) : wire;
    }
    case 3: {
      // a wire header that claims more than is there, or a deep JSON
      const json = Buffer.from(p.chance(0.5) ? '['.repeat(5000) + ']'.repeat(5000) : '{"$bin":0,"$len":99999999}');
      const head = Buffer.alloc(8);
      Buffer.from('CXR1').copy(head);
      head.writeUInt32LE(p.chance(0.5) ? json.length : 0xffffffff, 4);
      return Buffer.concat([head, json]);
    }
    default:
      return Buffer.from(p.one(['not wire', 'CXR1', '\u0000\u0000', 'GET / HTTP/1.1\r\n\r\n']));
  }
}

/** A raw request, and whether it is well framed (a server must answer it, whatever the answer). */
function fuzzRequest(p: ReturnType<typeof picker>): { bytes: Buffer; wellFramed: boolean } {
  const body = fuzzBody(p);
  const headers: string[] = [];
  if (!p.chance(0.05)) headers.push(`Host: ${p.chance(0.9) ? host() : p.one(['evil.example', '127.0.0.1', `localhost:${server.port}`, ''])}`);
  if (p.chance(0.6)) headers.push(`Authorization: ${p.one([`Bearer ${server.token}`, `Bearer ${server.token}`, 'Bearer nope', server.token, 'Bearer', `Bearer ${server.token}\u00e9`])}`);
  if (p.chance(0.1)) headers.push(`Origin: ${p.one(['null', 'http://evil.example', `http://${host()}`, ''])}`);
  const f = p.int(20);
  const framing = f < 12 ? 0 : f < 15 ? 2 : f < 17 ? 1 : f < 18 ? 3 : 4;
  if (framing === 0) headers.push(`Content-Length: ${body.length}`);
  else if (framing === 1) headers.push(`Content-Length: ${p.one([-1, 'abc', '1e3', body.length + 10, Math.max(0, body.length - 3), '00', ' 5', '99999999999999999999'])}`);
  else if (framing === 2) headers.push('Transfer-Encoding: chunked');
  else if (framing === 3) headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
  else if (framing === 4) headers.push(`X-Junk: ${p.one(['\u0001', 'a\rb', 'x'.repeat(9000), '\u00ff'])}`, `Content-Length: ${body.length}`);
  headers.push('Connection: close');
  const method = p.chance(0.8) ? p.one(['GET', 'POST']) : p.one(METHODS);
  const garbled = p.chance(0.03);
  const line = garbled ? p.one(['GARBAGE', 'GET', 'GET / HTTP/9.9', '\r\n']) : `${method} ${fuzzPath(p)} HTTP/1.1`;
  const head = Buffer.from(`${line}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
  if (framing === 2) {
    const good = p.chance(0.7);
    const chunked = good ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : Buffer.concat([Buffer.from(`${p.one(['zz', 'fffffffff', '-1', '5'])}\r\n`), body]);
    return { bytes: Buffer.concat([head, chunked]), wellFramed: good && !garbled };
  }
  return { bytes: Buffer.concat([head, body]), wellFramed: framing === 0 && !garbled };
}

test('a seeded fuzzer of raw requests never stops the server and never reaches its error log', async () => {
  const seed = Number(process.env.CXR_HTTP_FUZZ_SEED ?? 20251217);
  const count = Number(process.env.CXR_HTTP_FUZZ_COUNT ?? 400);
  const p = picker(seededRandom(seed));
  const statuses = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const { bytes, wellFramed } = fuzzRequest(p);
    // cut the connection early now and then (a client that goes away mid-request)
    const cut = p.chance(0.1);
    const answerDue = wellFramed && !cut;
    const status = await rawRequest(server.port, cut ? bytes.subarray(0, p.int(bytes.length)) : bytes, 2000, !answerDue);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const shown = JSON.stringify(bytes.subarray(0, 400).toString("latin1"));
    assert.notEqual(status, 500, `request ${i} (seed ${seed}) got 500: ${shown}`);
    if (answerDue) assert.notEqual(status, 0, `request ${i} (seed ${seed}) got no answer: ${shown}`);
    if (i % 50 === 49) await stillServing();
  }
  await stillServing();
  assert.deepEqual(logged, [], 'no request was an unexpected error');
  assert.equal(server.inFlight().bytes, 0, 'every request gave its body budget back');
  // the fuzzer reached the routes, not only the parser's refusals
  for (const s of [200, 400, 401, 403, 404, 405]) assert.ok((statuses.get(s) ?? 0) > 0, `no ${s} among ${JSON.stringify([...statuses])}`);
});
