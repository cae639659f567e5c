import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, MAX_REQUEST_BYTES, type RunningServer } from './index';
import { Workstation } from '../core/api/index';
import { encodeWire, decodeWire } from '../contract/wire';
import { tempDbPath, tempDir } from '../testing/index';
import { signIn } from '../testing/accounts';

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

/** A browser's cookie jar: the session cookie the server set, sent back with every request, as a browser does. */
function browser() {
  let cookie = '';
  const keep = (r: Response) => {
    const set = r.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0];
    return r;
  };
  return {
    call: async (name: string, req: unknown, headers: Record<string, string> = {}) =>
      keep(await fetch(`${base}/api/call/${name}`, { method: 'POST', body: Buffer.from(encodeWire(req)), headers: { Authorization: `Bearer ${server.token}`, ...(cookie ? { Cookie: cookie } : {}), ...headers } })),
    events: async (signal: AbortSignal) => keep(await fetch(`${base}/api/events?token=${server.token}`, { signal, headers: cookie ? { Cookie: cookie } : {} })),
    page: async () => keep(await fetch(`${base}/`, { headers: cookie ? { Cookie: cookie } : {} })),
    get cookie() {
      return cookie;
    },
  };
}
const first = browser();
const call = first.call;
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
  // a station without accounts answers only the first administrator's setup; then a signed-in user
  assert.equal((await reply(await call('cases:list', {}))).error?.code, 'SETUP_REQUIRED');
  await signIn(ws, 'technician');
  await reply(await call('accounts:logout', {}));
  assert.equal((await reply(await call('cases:list', {}))).error?.code, 'AUTH_REQUIRED');
  assert.equal((await reply(await call('accounts:login', { username: 'technician', password: 'wrong-password' }))).error?.code, 'LOGIN_FAILED');
  assert.equal((await reply(await call('accounts:login', { username: 'technician', password: 'test-password-1' }))).ok, true);
  const list = await reply(await call('cases:list', {}));
  assert.deepEqual(list.value, { total: 0, rows: [], threshold: null });
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
  assert.equal((await reply(await call('accounts:login', { username: 'technician', password: 'test-password-1' }))).ok, true);
  const ctrl = new AbortController();
  const r = await first.events(ctrl.signal);
  assert.equal(r.headers.get('content-type'), 'text/event-stream');
  const reader = r.body!.getReader();
  await reader.read();
  ws.emit('cases:onChanged', { caseIds: [7] });
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /event: cases:onChanged\ndata: \{"caseIds":\[7\]\}/);
  ctrl.abort();
});

test('each browser signs in for itself: the token opens the sign-in page, not the session of the last user', async () => {
  assert.equal((await reply(await call('accounts:login', { username: 'technician', password: 'test-password-1' }))).ok, true);
  // a second browser opens the address with the token: it gets a session of its own, signed out
  const second = browser();
  const page = await second.page();
  assert.match(page.headers.get('set-cookie') ?? '', /^cxr_session_\d+=[A-Za-z0-9_-]{32}; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.notEqual(second.cookie, first.cookie);
  const seen = await reply(await second.call('accounts:session', {}));
  assert.equal(seen.value.user, null, 'not signed in as the first browser’s user');
  assert.equal((await reply(await second.call('cases:list', {}))).error?.code, 'AUTH_REQUIRED');
  // its events: nothing of the station's until its own user signs in; its sign-in reaches it, not the first browser
  const ctrl = new AbortController();
  const firstCtrl = new AbortController();
  const stream = (await second.events(ctrl.signal)).body!.getReader();
  const firstStream = (await first.events(firstCtrl.signal)).body!.getReader();
  await stream.read();
  await firstStream.read();
  ws.emit('cases:onChanged', { caseIds: [8] });
  assert.equal((await reply(await second.call('accounts:login', { username: 'technician', password: 'test-password-1' }))).ok, true);
  const text = new TextDecoder().decode((await stream.read()).value);
  assert.match(text, /^event: accounts:onSession\ndata: .*"username":"technician"/);
  assert.doesNotMatch(text, /caseIds":\[8\]/, 'a signed-out browser hears nothing of the cases');
  assert.match(new TextDecoder().decode((await firstStream.read()).value), /event: cases:onChanged\ndata: \{"caseIds":\[8\]\}/);
  // signing out in one browser leaves the other signed in
  await second.call('accounts:logout', {});
  assert.equal((await reply(await second.call('cases:list', {}))).error?.code, 'AUTH_REQUIRED');
  assert.equal((await reply(await call('cases:list', {}))).ok, true);
  // a cookie the server never gave is a new, signed-out session
  assert.equal((await reply(await browser().call('cases:list', {}, { Cookie: `cxr_session_${server.port}=forged` }))).error?.code, 'AUTH_REQUIRED');
  ctrl.abort();
  firstCtrl.abort();
});

/** A raw request with exactly the headers given (fetch would set Host and Origin itself). */
async function raw(opts: { method?: string; path: string; headers: Record<string, string>; body?: Buffer }): Promise<number> {
  const http = await import('node:http');
  return new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('DNS rebinding: an API call or event stream with the right token but a foreign Host is refused', async () => {
  const auth = { Authorization: `Bearer ${server.token}` };
  const body = Buffer.from(encodeWire({}));
  assert.equal(await raw({ method: 'POST', path: '/api/call/app:info', headers: { ...auth, Host: `attacker.example:${server.port}` }, body }), 403);
  assert.equal(await raw({ method: 'POST', path: '/api/call/app:info', headers: { ...auth, Host: `127.0.0.1:${server.port + 1}` }, body }), 403);
  assert.equal(await raw({ method: 'POST', path: '/api/call/app:info', headers: { ...auth, Host: '127.0.0.1' }, body }), 403, 'the port is part of the check');
  assert.equal(await raw({ path: `/api/events?token=${server.token}`, headers: { Host: `attacker.example:${server.port}` } }), 403);
  assert.equal(await raw({ method: 'POST', path: '/api/call/app:info', headers: { ...auth, Host: `localhost:${server.port}` }, body }), 200, 'localhost is this machine');
});

test('other origins are refused, with or without the token, on calls and on the event stream', async () => {
  const auth = { Authorization: `Bearer ${server.token}` };
  for (const origin of ['null', 'http://evil.example', `http://127.0.0.1:${server.port + 1}`, `https://127.0.0.1:${server.port}`, `http://127.0.0.1:${server.port}.evil.example`]) {
    assert.equal((await call('app:info', {}, { Origin: origin })).status, 403, origin);
    assert.equal(await raw({ path: `/api/events?token=${server.token}`, headers: { Host: `127.0.0.1:${server.port}`, Origin: origin } }), 403, `events from ${origin}`);
  }
  assert.equal((await call('app:info', {}, { ...auth, Origin: `http://127.0.0.1:${server.port}` })).status, 200, 'the page’s own origin');
});

test('the token is required on the event stream and only as a Bearer header on calls', async () => {
  assert.equal((await fetch(`${base}/api/events?token=`)).status, 401);
  assert.equal((await fetch(`${base}/api/events?token=${server.token.slice(0, -1)}`)).status, 401);
  assert.equal((await fetch(`${base}/api/events?token=${server.token}x`)).status, 401);
  const inQuery = await fetch(`${base}/api/call/app:info?token=${server.token}`, { method: 'POST', body: Buffer.from(encodeWire({})) });
  assert.equal(inQuery.status, 401, 'a token in the URL is not accepted for calls (URLs end up in logs and history)');
  assert.equal((await call('app:info', {}, { Authorization: server.token })).status, 401, 'Bearer scheme required');
  assert.equal((await fetch(`${base}/api/call/app:info`, { headers: { Authorization: `Bearer ${server.token}` } })).status, 405, 'calls are POST only');
});

test('an oversized body without a Content-Length is cut off at the limit, and the server keeps serving', async () => {
  const http = await import('node:http');
  const outcome = await new Promise<string>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: '/api/call/import:file', method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.on('error', (e) => resolve(`closed ${(e as NodeJS.ErrnoException).code}`));
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent <= MAX_REQUEST_BYTES + chunk.length) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  assert.match(outcome, /^(status 413|closed (ECONNRESET|EPIPE))$/, outcome);
  assert.equal((await call('app:info', {})).status, 200);
});

test('the server is not reachable on the machine’s other addresses', async () => {
  const os = await import('node:os');
  const net = await import('node:net');
  const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  const host = external?.address;
  if (!host) return; // no network interface besides loopback here: nothing else to reach
  const reached = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host, port: server.port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
  });
  assert.equal(reached, false, `port ${server.port} answered on ${host}`);
});

/** A POST whose body is declared (or chunked) but only partly sent; resolves with the status once one comes back. */
function partialUpload(port: number, token: string, headers: Record<string, string>, first: Buffer): { status: Promise<number>; abort: () => void; send: (b: Buffer) => void } {
  let req!: import('node:http').ClientRequest;
  const status = import('node:http').then(
    (http) =>
      new Promise<number>((resolve) => {
        req = http.request({ host: '127.0.0.1', port, path: '/api/call/import:file', method: 'POST', headers: { Authorization: `Bearer ${token}`, ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.write(first);
      }),
  );
  return { status, abort: () => req?.destroy(), send: (b) => req?.write(b) };
}

test('parallel large uploads: the bytes held over all requests stay bounded, the extra ones are told the station is busy', async () => {
  const { MAX_IN_FLIGHT_BYTES } = await import('./index');
  const big = MAX_REQUEST_BYTES - 1024 * 1024; // 255 MB each, declared; only the first kilobyte is sent
  const uploads = [0, 1, 2].map(() => partialUpload(server.port, server.token, { 'Content-Length': String(big) }, Buffer.alloc(1024)));
  // two of the three are refused at once; the third is read (and holds its reservation) until it ends
  const firstTwo = await new Promise<number[]>((resolve) => {
    const got: number[] = [];
    for (const u of uploads) void u.status.then((s) => got.push(s) === 2 && resolve(got));
  });
  assert.deepEqual(firstTwo, [503, 503]);
  assert.ok(server.inFlight().peak <= MAX_IN_FLIGHT_BYTES, `peak ${server.inFlight().peak}`);
  assert.equal(server.inFlight().bytes, big);
  // small calls still fit beside the one large upload
  assert.equal((await call('app:info', {})).status, 200);
  uploads.forEach((u) => u.abort());
  for (let i = 0; i < 50 && server.inFlight().bytes !== 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.inFlight().bytes, 0, 'an aborted upload gives its reservation back');
  assert.equal((await reply(await call('app:info', {}))).ok, true);
});

test('chunked uploads without a declared length count against the same total as they arrive', async () => {
  const staticDir = tempDir();
  const s = await startServer({ workstation: ws, staticDir, maxRequestBytes: 1 << 20, maxInFlightBytes: (1 << 20) + (1 << 19) });
  try {
    const a = partialUpload(s.port, s.token, { 'Transfer-Encoding': 'chunked' }, Buffer.alloc(600 * 1024));
    const b = partialUpload(s.port, s.token, { 'Transfer-Encoding': 'chunked' }, Buffer.alloc(600 * 1024));
    await new Promise((r) => setTimeout(r, 200));
    // together they pass the total: one of them is refused once its next bytes arrive
    a.send(Buffer.alloc(300 * 1024));
    b.send(Buffer.alloc(300 * 1024));
    const first = await Promise.race([a.status, b.status]);
    assert.ok(first === 503 || first === 0, `status ${first}`);
    assert.ok(s.inFlight().peak <= (1 << 20) + (1 << 19), `peak ${s.inFlight().peak}`);
    a.abort();
    b.abort();
    for (let i = 0; i < 50 && s.inFlight().bytes !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.inFlight().bytes, 0);
  } finally {
    await s.close();
  }
});

test('the JSON part of a call is bounded (parsing costs several times its size), the binary part is not counted in it', async () => {
  const { MAX_REQUEST_JSON_BYTES } = await import('./index');
  const big = Buffer.from(encodeWire({ text: 'x'.repeat(MAX_REQUEST_JSON_BYTES) }));
  const r = await fetch(`${base}/api/call/app:info`, { method: 'POST', body: big, headers: { Authorization: `Bearer ${server.token}` } });
  assert.equal(r.status, 400);
  assert.match((await reply(r)).error?.code ?? '', /BAD_REQUEST/);
  // a large file travels as bytes beside a small JSON part and is read whole (the station answers the call itself)
  const file = Buffer.from(encodeWire({ name: 'big.png', bytes: new Uint8Array(MAX_REQUEST_JSON_BYTES + 1024).fill(7) }));
  const sent = await fetch(`${base}/api/call/import:file`, { method: 'POST', body: file, headers: { Authorization: `Bearer ${server.token}` } });
  assert.equal(sent.status, 200);
  assert.notEqual((await reply(sent)).error?.code, 'BAD_REQUEST');
});
