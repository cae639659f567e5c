// The local web mode: the renderer's static files and the same API contract over HTTP, on 127.0.0.1 only,
// guarded by a random per-run token, same-origin checks, a size limit per request and on all requests together.
// No request, whatever its bytes, ends the server: addresses are decoded defensively (400), and anything a route
// did not expect is answered 500 and logged. The token only opens the door: each browser gets a session of its own
// (an HttpOnly cookie names it), signed out until its user signs in, so a second browser that opens the address
// lands on the sign-in page, never in someone else's session.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeWire, decodeWire } from '../contract/wire';
import { eventNames, MAX_IMPORT_BYTES } from '../contract/index';
import type { Workstation } from '../core/api/index';
import type { StationSession } from '../core/accounts/session';

export interface ServerOptions {
  workstation: Workstation;
  /** folder with the built renderer (index.html and assets) */
  staticDir: string;
  /** 0 picks a free port */
  port?: number;
  token?: string;
  /** largest request body (default MAX_REQUEST_BYTES) */
  maxRequestBytes?: number;
  /** most request body bytes held at once over all requests together (default MAX_IN_FLIGHT_BYTES) */
  maxInFlightBytes?: number;
  /** where an unexpected error in a request's handling is reported (default: standard error) */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  /** request body bytes held right now, and the most held at once since the start */
  inFlight(): { bytes: number; peak: number };
  close(): Promise<void>;
}

/** Request bodies above this are refused before they are read (an import file plus its envelope). */
export const MAX_REQUEST_BYTES = MAX_IMPORT_BYTES + 64 * 1024;

/**
 * Request bodies held at once, all requests together: one largest import and room for the small calls beside it.
 * A body that would pass it is refused (503 SERVER_BUSY) before it is read, so that parallel uploads cannot take
 * the server's memory with them.
 */
export const MAX_IN_FLIGHT_BYTES = MAX_REQUEST_BYTES + 32 * 1024 * 1024;

/**
 * The JSON part of a request (everything but its binary blobs: findings, report text, settings). Parsing JSON costs
 * several times its size in memory, so it is bounded well below the body limit.
 */
export const MAX_REQUEST_JSON_BYTES = 4 * 1024 * 1024;

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
  "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** A percent-decoded URL path, or null where its escapes are not valid UTF-8 or it holds a NUL. */
export function decodePath(raw: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  return decoded.includes('\0') ? null : decoded;
}

/** A browser session unused this long is forgotten (its user signs in again). */
export const CLIENT_SESSION_IDLE_MS = 24 * 3600_000;

interface ClientSession {
  station: StationSession;
  /** the event streams this browser has open */
  streams: Set<http.ServerResponse>;
  lastSeenMs: number;
}

export function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const ws = opts.workstation;
  const staticRoot = path.resolve(opts.staticDir);
  const maxRequest = opts.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const maxInFlight = opts.maxInFlightBytes ?? MAX_IN_FLIGHT_BYTES;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const sseClients = new Set<http.ServerResponse>();
  const sessions = new Map<string, ClientSession>();
  let port = 0;
  let inFlight = 0;
  let peak = 0;
  // Cookies are per host, not per port: the name carries the port, so that two stations on one PC stay apart.
  const cookieName = () => `cxr_session_${port}`;

  const sessionOf = (req: http.IncomingMessage): ClientSession | null => {
    const id = parseCookies(req.headers.cookie)[cookieName()];
    const s = id ? sessions.get(id) : undefined;
    if (!s) return null;
    s.lastSeenMs = Date.now();
    return s;
  };
  /** The browser's session, or a new signed-out one (its cookie set on `res`). */
  const sessionFor = (req: http.IncomingMessage, res: http.ServerResponse): ClientSession => {
    const known = sessionOf(req);
    if (known) return known;
    const now = Date.now();
    for (const [id, s] of sessions) {
      if (now - s.lastSeenMs > CLIENT_SESSION_IDLE_MS && s.streams.size === 0) {
        ws.closeSession(s.station);
        sessions.delete(id);
      }
    }
    const id = randomBytes(24).toString('base64url');
    const streams = new Set<http.ServerResponse>();
    const station = ws.openSession((snapshot) => {
      const msg = `event: accounts:onSession\ndata: ${JSON.stringify(snapshot)}\n\n`;
      for (const c of streams) c.write(msg);
    });
    const s: ClientSession = { station, streams, lastSeenMs: now };
    sessions.set(id, s);
    res.setHeader('Set-Cookie', `${cookieName()}=${id}; Path=/; HttpOnly; SameSite=Strict`);
    return s;
  };

  const tokenOk = (candidate: string | null | undefined) => {
    if (!candidate) return false;
    const b = Buffer.from(candidate);
    return b.length === tokenBuf.length && timingSafeEqual(b, tokenBuf);
  };

  // Same-origin only: a page from another site (or DNS rebinding to this port) must not reach the API.
  const originOk = (req: http.IncomingMessage) => {
    const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    if (!req.headers.host || !allowedHosts.includes(req.headers.host)) return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    return allowedHosts.some((h) => origin === `http://${h}`);
  };

  const securityHeaders = (res: http.ServerResponse) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  };

  const fail = (res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return void res.end();
    res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store', ...headers });
    res.end(encodeWire({ ok: false, error: { code, message } }));
  };

  /** Anything a route did not expect: answered 500 and logged (never the token, never the body), never fatal. */
  const internalError = (req: http.IncomingMessage, res: http.ServerResponse, e: unknown) => {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    log(`cxr serve: ${req.method ?? '?'} request failed unexpectedly (${what.slice(0, 300)})`);
    try {
      fail(res, 500, 'INTERNAL', 'The station could not handle this request; it went on serving. The error is in its log.');
    } catch {
      res.destroy();
    }
  };

  /** Reserve room for `bytes` more body bytes of one request; false when the total would pass the limit. */
  const reserve = (bytes: number): boolean => {
    if (inFlight + bytes > maxInFlight) return false;
    inFlight += bytes;
    if (inFlight > peak) peak = inFlight;
    return true;
  };
  const busy = (res: http.ServerResponse) =>
    fail(res, 503, 'SERVER_BUSY', 'The station is receiving other large requests; try again when they have finished.', { 'Retry-After': '2' });

  const handleCall = (req: http.IncomingMessage, res: http.ServerResponse, rawName: string) => {
    if (req.method !== 'POST') return fail(res, 405, 'BAD_REQUEST', 'Use POST.');
    const auth = req.headers.authorization ?? '';
    if (!tokenOk(auth.startsWith('Bearer ') ? auth.slice(7) : null)) return fail(res, 401, 'UNAUTHORIZED', 'Missing or wrong access token.');
    const name = decodePath(rawName);
    if (name === null) return fail(res, 400, 'BAD_REQUEST', 'The call name in the address is not valid percent-encoded text.');
    const lengthHeader = req.headers['content-length'];
    const declared = lengthHeader === undefined ? null : Number(lengthHeader);
    if (declared !== null && !(Number.isSafeInteger(declared) && declared >= 0)) return fail(res, 400, 'BAD_REQUEST', 'The Content-Length header is not a byte count.');
    if (declared !== null && declared > maxRequest) {
      req.resume();
      return fail(res, 413, 'FILE_TOO_LARGE', `Request of ${declared} bytes is over the ${maxRequest} byte limit.`);
    }
    // A declared body is reserved whole before it is read, and read into one buffer of that size; a chunked one
    // reserves as it arrives. Either way the reservation is given back when the request is over, whatever happened.
    const session = sessionFor(req, res);
    let held = 0;
    if (declared !== null) {
      if (!reserve(declared)) {
        req.resume();
        return busy(res);
      }
      held = declared;
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inFlight -= held;
      held = 0;
    };
    res.once('close', release);
    req.once('error', release);
    const body = declared !== null ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const refuse = (answer: () => void) => {
      refused = true;
      answer();
      release();
      req.destroy();
    };
    req.on('data', (c: Buffer) => {
      if (refused) return;
      const next = size + c.length;
      if (next > maxRequest || (body && next > body.length)) {
        return refuse(() => fail(res, 413, 'FILE_TOO_LARGE', `Request is over the ${body ? `declared ${body.length}` : maxRequest} byte limit.`));
      }
      if (body) c.copy(body, size);
      else {
        if (!reserve(c.length)) return refuse(() => busy(res));
        held += c.length;
        chunks.push(c);
      }
      size = next;
    });
    req.on('end', () => {
      if (refused) return;
      void (async () => {
        let request: unknown;
        try {
          const all = body ? body.subarray(0, size) : Buffer.concat(chunks);
          chunks.length = 0;
          request = decodeWire(new Uint8Array(all.buffer, all.byteOffset, all.byteLength), { maxJsonBytes: MAX_REQUEST_JSON_BYTES, views: true });
        } catch (e) {
          return fail(res, 400, 'BAD_REQUEST', `Unreadable request body: ${(e as Error).message}`);
        }
        const reply = await ws.dispatch(name, request, session.station);
        if (res.destroyed) return;
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' });
        res.end(encodeWire(reply));
      })().catch((e) => internalError(req, res, e));
    });
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    securityHeaders(res);
    // Streams that fail (a client that goes away mid-request) end that request only.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    if (!originOk(req)) return fail(res, 403, 'UNAUTHORIZED', 'Requests are accepted from this station’s own page only.');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      return fail(res, 400, 'BAD_REQUEST', 'The request’s address cannot be read.');
    }

    if (url.pathname.startsWith('/api/call/')) return handleCall(req, res, url.pathname.slice('/api/call/'.length));

    if (url.pathname === '/api/events') {
      if (!tokenOk(url.searchParams.get('token'))) return fail(res, 401, 'UNAUTHORIZED', 'Missing or wrong access token.');
      const session = sessionFor(req, res);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      sseClients.add(res);
      session.streams.add(res);
      streamSession.set(res, session);
      req.on('close', () => {
        sseClients.delete(res);
        session.streams.delete(res);
      });
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'BAD_REQUEST', 'Use GET.');
    // The page gets its browser's session before its first call, so that its calls and its event stream share one.
    if (url.pathname === '/' || url.pathname === '/index.html') sessionFor(req, res);
    serveStatic(staticRoot, url.pathname, res, (e) => internalError(req, res, e));
  };

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      internalError(req, res, e);
    }
  });

  // The station's events go to the browsers whose user is signed in and not locked; a browser's own session changes
  // go to that browser only (above). The station's own session (the desktop window's) is nothing to a browser.
  const streamSession = new WeakMap<http.ServerResponse, ClientSession>();
  const unsubscribers = eventNames
    .filter((name) => name !== 'accounts:onSession')
    .map((name) =>
      ws.on(name, (payload) => {
        const msg = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
        for (const c of sseClients) {
          const st = streamSession.get(c)?.station.state;
          if (st?.user && !st.locked) c.write(msg);
        }
      }),
    );

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      // A failing socket or a malformed request line ends that connection (Node answers 400), not the server.
      server.on('error', (e) => log(`cxr serve: server error (${e.message})`));
      port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}/?token=${token}`,
        port,
        token,
        inFlight: () => ({ bytes: inFlight, peak }),
        close: () =>
          new Promise<void>((done) => {
            unsubscribers.forEach((u) => u());
            for (const s of sessions.values()) ws.closeSession(s.station);
            sessions.clear();
            for (const c of sseClients) c.end();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** name → value of a Cookie header (the first of a name wins). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

function serveStatic(root: string, pathname: string, res: http.ServerResponse, onError: (e: unknown) => void): void {
  let rel = decodePath(pathname);
  if (rel === null) {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad request');
    return;
  }
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = path.resolve(root, `.${rel}`);
  if (file !== root && !file.startsWith(root + path.sep)) {
    res.writeHead(404).end();
    return;
  }
  fs.readFile(file, (err, data) => {
    try {
      if (err) {
        const missingApp = rel === '/index.html';
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(missingApp ? 'The user interface is not built: run `npm run build:renderer` (npm run serve does it for you).' : 'Not found');
        return;
      }
      const type = MIME[path.extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': rel === '/index.html' ? 'no-store' : 'max-age=3600' });
      res.end(data);
    } catch (e) {
      onError(e);
    }
  });
}
