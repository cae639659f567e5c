// The local web mode: the renderer's static files and the same API contract over HTTP, on 127.0.0.1 only,
// guarded by a random per-run token, same-origin checks and a request size limit.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeWire, decodeWire } from '../contract/wire';
import { eventNames, MAX_IMPORT_BYTES } from '../contract/index';
import type { Workstation } from '../core/api/index';

export interface ServerOptions {
  workstation: Workstation;
  /** folder with the built renderer (index.html and assets) */
  staticDir: string;
  /** 0 picks a free port */
  port?: number;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** Request bodies above this are refused before they are read (an import file plus its envelope). */
export const MAX_REQUEST_BYTES = MAX_IMPORT_BYTES + 64 * 1024;

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

export function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const ws = opts.workstation;
  const staticRoot = path.resolve(opts.staticDir);
  const sseClients = new Set<http.ServerResponse>();
  let port = 0;

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

  const fail = (res: http.ServerResponse, status: number, code: string, message: string) => {
    if (res.headersSent) return res.end();
    res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' });
    res.end(encodeWire({ ok: false, error: { code, message } }));
  };

  const server = http.createServer((req, res) => {
    securityHeaders(res);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!originOk(req)) return fail(res, 403, 'UNAUTHORIZED', 'Requests are accepted from this station’s own page only.');

    if (url.pathname.startsWith('/api/call/')) {
      if (req.method !== 'POST') return fail(res, 405, 'BAD_REQUEST', 'Use POST.');
      const auth = req.headers.authorization ?? '';
      if (!tokenOk(auth.startsWith('Bearer ') ? auth.slice(7) : null)) return fail(res, 401, 'UNAUTHORIZED', 'Missing or wrong access token.');
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > MAX_REQUEST_BYTES) {
        req.resume();
        return fail(res, 413, 'FILE_TOO_LARGE', `Request of ${declared} bytes is over the ${MAX_REQUEST_BYTES} byte limit.`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let aborted = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_REQUEST_BYTES && !aborted) {
          aborted = true;
          fail(res, 413, 'FILE_TOO_LARGE', `Request is over the ${MAX_REQUEST_BYTES} byte limit.`);
          req.destroy();
          return;
        }
        if (!aborted) chunks.push(c);
      });
      req.on('end', async () => {
        if (aborted) return;
        const name = decodeURIComponent(url.pathname.slice('/api/call/'.length));
        let request: unknown;
        try {
          const body = Buffer.concat(chunks);
          request = decodeWire(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
        } catch (e) {
          return fail(res, 400, 'BAD_REQUEST', `Unreadable request body: ${(e as Error).message}`);
        }
        const reply = await ws.dispatch(name, request);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' });
        res.end(encodeWire(reply));
      });
      return;
    }

    if (url.pathname === '/api/events') {
      if (!tokenOk(url.searchParams.get('token'))) return fail(res, 401, 'UNAUTHORIZED', 'Missing or wrong access token.');
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      sseClients.add(res);
      req.on('close', () => sseClients.delete(res));
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'BAD_REQUEST', 'Use GET.');
    serveStatic(staticRoot, url.pathname, res);
  });

  const unsubscribers = eventNames.map((name) =>
    ws.on(name, (payload) => {
      const msg = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
      for (const c of sseClients) c.write(msg);
    }),
  );

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}/?token=${token}`,
        port,
        token,
        close: () =>
          new Promise<void>((done) => {
            unsubscribers.forEach((u) => u());
            for (const c of sseClients) c.end();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function serveStatic(root: string, pathname: string, res: http.ServerResponse): void {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = path.resolve(root, `.${rel}`);
  if (file !== root && !file.startsWith(root + path.sep)) {
    res.writeHead(404).end();
    return;
  }
  fs.readFile(file, (err, data) => {
    if (err) {
      const missingApp = rel === '/index.html';
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(missingApp ? 'The user interface is not built: run `npm run build:renderer` (npm run serve does it for you).' : 'Not found');
      return;
    }
    const type = MIME[path.extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': rel === '/index.html' ? 'no-store' : 'max-age=3600' });
    res.end(data);
  });
}
