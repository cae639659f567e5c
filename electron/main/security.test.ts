// The Electron hardening, checked without the Electron binary: the window options, and the guards registered on
// recording fakes of WebContents, Session and ipcMain, then exercised the way Electron would call them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  hardenedWebPreferences,
  mainWindowOptions,
  isAppUrl,
  isAllowedRequest,
  guardWebContents,
  guardSession,
  registerIpc,
  isTrustedSender,
  APP_CSP,
  IPC_CHANNEL,
  type GuardableContents,
  type GuardableSession,
} from './security';
import { Workstation } from '../core/api/index';
import { CSP as SERVER_CSP } from '../server/index';
import { tempDbPath, repoRoot } from '../testing/index';

const OWN = 'file:///opt/cxr/resources/app.asar/dist/renderer/index.html';

test('the window is created with hardened web preferences', () => {
  const p = hardenedWebPreferences('/app/preload.cjs');
  assert.equal(p.contextIsolation, true);
  assert.equal(p.sandbox, true);
  assert.equal(p.nodeIntegration, false);
  assert.equal(p.nodeIntegrationInWorker, false);
  assert.equal(p.nodeIntegrationInSubFrames, false);
  assert.equal(p.webSecurity, true);
  assert.equal(p.allowRunningInsecureContent, false);
  assert.equal(p.webviewTag, false);
  assert.equal(p.experimentalFeatures, false);
  assert.equal(p.navigateOnDragDrop, false);
  assert.equal(p.devTools, false, 'an installed app has no developer tools unless asked');
  assert.equal(p.preload, '/app/preload.cjs');
  assert.equal(hardenedWebPreferences('/p', { devTools: true }).devTools, true);
});

test('the main window options carry the hardened preferences and stay hidden until painted', () => {
  const o = mainWindowOptions('/app/preload.cjs', { devTools: false });
  assert.deepEqual(o.webPreferences, hardenedWebPreferences('/app/preload.cjs'));
  assert.equal(o.show, false);
  assert.equal(o.title, 'CXR Workstation');
});

test('only the app’s own page counts as the app', () => {
  assert.equal(isAppUrl(OWN, OWN), true);
  assert.equal(isAppUrl(`${OWN}#/case/3`, OWN), true);
  assert.equal(isAppUrl(`${OWN}?x=1`, OWN), true);
  assert.equal(isAppUrl('file:///etc/passwd', OWN), false);
  assert.equal(isAppUrl('file:///opt/cxr/resources/app.asar/dist/renderer/other.html', OWN), false);
  assert.equal(isAppUrl('https://example.org/', OWN), false);
  assert.equal(isAppUrl('http://127.0.0.1:8080/opt/cxr/resources/app.asar/dist/renderer/index.html', OWN), false);
  assert.equal(isAppUrl('not a url', OWN), false);
});

/** A WebContents that records its listeners and window-open handler. */
function fakeContents() {
  const listeners = new Map<string, (...args: any[]) => void>();
  let openHandler: ((d: { url: string }) => { action: string }) | null = null;
  const contents = {
    on(event: string, listener: (...args: any[]) => void) {
      listeners.set(event, listener);
      return contents;
    },
    setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
      openHandler = h;
    },
  };
  /** Fire `event` as Electron would; true when a listener prevented the default. */
  const fire = (event: string, ...args: unknown[]) => {
    let prevented = false;
    const ev = { preventDefault: () => (prevented = true), ...(args[0] as object) };
    const l = listeners.get(event);
    assert.ok(l, `a ${event} listener is registered`);
    l(ev, ...args.slice(1));
    return prevented;
  };
  return { contents: contents as unknown as GuardableContents, listeners, fire, open: (url: string) => openHandler!({ url }) };
}

test('navigation away from the app, redirects, webviews and new windows are refused', () => {
  const f = fakeContents();
  guardWebContents(f.contents, OWN);
  assert.equal(f.fire('will-navigate', {}, 'https://example.org/'), true);
  assert.equal(f.fire('will-navigate', {}, 'file:///etc/passwd'), true);
  assert.equal(f.fire('will-navigate', {}, `${OWN}#/x`), false, 'reloading the app itself is allowed');
  assert.equal(f.fire('will-frame-navigate', { url: 'https://example.org/' }), true);
  assert.equal(f.fire('will-frame-navigate', { url: 'data:text/html,<script>1</script>' }), true);
  assert.equal(f.fire('will-frame-navigate', { url: OWN }), false);
  assert.equal(f.fire('will-redirect', {}, OWN), true, 'no redirects at all: the app never redirects');
  assert.equal(f.fire('will-attach-webview', {}), true);
  assert.deepEqual(f.open('https://example.org/'), { action: 'deny' });
  assert.deepEqual(f.open(OWN), { action: 'deny' });
});

/** A Session that records its handlers. */
function fakeSession() {
  const h: Record<string, (...args: any[]) => any> = {};
  const session = {
    setPermissionRequestHandler: (fn: any) => (h.permissionRequest = fn),
    setPermissionCheckHandler: (fn: any) => (h.permissionCheck = fn),
    setDevicePermissionHandler: (fn: any) => (h.devicePermission = fn),
    webRequest: {
      onBeforeRequest: (fn: any) => (h.beforeRequest = fn),
      onHeadersReceived: (fn: any) => (h.headersReceived = fn),
    },
  };
  return { session: session as unknown as GuardableSession, h };
}

test('every permission request is denied', () => {
  const { session, h } = fakeSession();
  guardSession(session);
  for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'hid', 'serial', 'usb', 'openExternal', 'fullscreen']) {
    let granted: boolean | undefined;
    h.permissionRequest(null, permission, (g: boolean) => (granted = g), {});
    assert.equal(granted, false, permission);
    assert.equal(h.permissionCheck(null, permission, 'file://', {}), false, permission);
  }
  assert.equal(h.devicePermission({ deviceType: 'usb', origin: 'file://' }), false);
});

test('no remote content is loaded: only file, data, blob and devtools URLs pass', () => {
  const { session, h } = fakeSession();
  guardSession(session);
  const cancelled = (url: string) => {
    let r: { cancel?: boolean } = {};
    h.beforeRequest({ url }, (x: { cancel?: boolean }) => (r = x));
    return r.cancel;
  };
  assert.equal(cancelled(OWN), false);
  assert.equal(cancelled('file:///opt/cxr/resources/app.asar/dist/renderer/assets/index-abc.js'), false);
  assert.equal(cancelled('data:image/png;base64,AAAA'), false);
  assert.equal(cancelled('blob:file:///1234'), false);
  for (const url of ['https://example.org/x.js', 'http://127.0.0.1:8080/', 'ws://127.0.0.1:1/', 'ftp://host/', 'chrome-extension://abc/x', 'wss://example.org/']) {
    assert.equal(cancelled(url), true, url);
    assert.equal(isAllowedRequest(url), false, url);
  }
});

test('responses get the strict Content-Security-Policy header', () => {
  const { session, h } = fakeSession();
  guardSession(session);
  let out: { responseHeaders?: Record<string, string[]> } = {};
  h.headersReceived({ url: OWN, responseHeaders: { 'Content-Security-Policy': ["default-src *"], 'X-Other': ['1'] } }, (r: typeof out) => (out = r));
  assert.deepEqual(out.responseHeaders?.['Content-Security-Policy'], [APP_CSP], 'a looser policy is replaced, not added to');
  assert.deepEqual(out.responseHeaders?.['X-Other'], ['1']);
});

/** The directives of a CSP string. */
function directives(csp: string): Map<string, string> {
  return new Map(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => [d.split(/\s+/)[0], d.split(/\s+/).slice(1).join(' ')]));
}

test('the CSP is strict, and the page (meta tag) and the web mode carry the same one', () => {
  const d = directives(APP_CSP);
  assert.equal(d.get('default-src'), "'self'");
  assert.equal(d.get('script-src'), "'self'", 'no inline scripts, no eval, no remote scripts');
  assert.equal(d.get('object-src'), "'none'");
  assert.equal(d.get('base-uri'), "'none'");
  assert.equal(d.get('form-action'), "'none'");
  assert.equal(d.get('connect-src'), "'self'");
  for (const [k, v] of d) assert.doesNotMatch(v, /\*|https?:|unsafe-eval/, `${k} allows nothing remote and no eval`);
  const html = fs.readFileSync(path.join(repoRoot, 'renderer', 'index.html'), 'utf8');
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html);
  assert.ok(meta, 'renderer/index.html has a CSP meta tag (file:// pages get no headers)');
  assert.deepEqual(directives(meta[1]), d);
  // The web mode adds frame-ancestors, which only works as a header; otherwise the same policy.
  const server = directives(SERVER_CSP);
  assert.equal(server.get('frame-ancestors'), "'none'");
  server.delete('frame-ancestors');
  assert.deepEqual(server, d);
});

/** An ipcMain that records handle() registrations. */
function fakeIpcMain() {
  const handlers = new Map<string, (...args: any[]) => any>();
  return { ipc: { handle: (channel: string, fn: (...args: any[]) => any) => void handlers.set(channel, fn) }, handlers };
}

const frame = (url: string, parent: object | null = null) => ({ senderFrame: { url, parent } as any });

test('IPC: only the app’s own main frame may call', async () => {
  const { ipc, handlers } = fakeIpcMain();
  const seen: unknown[] = [];
  const handler = registerIpc(ipc, OWN, async (name, request) => {
    seen.push([name, request]);
    return { ok: true, value: 'ran' };
  });
  assert.equal(handlers.get(IPC_CHANNEL), handler, 'one channel, cxr:invoke');
  assert.equal(handlers.size, 1);
  assert.deepEqual(await handler(frame(OWN), 'app:info', {}), { ok: true, value: 'ran' });
  for (const bad of [frame('https://evil.example/'), frame('file:///tmp/evil.html'), frame(OWN, { url: OWN }), { senderFrame: null as any }]) {
    const r = await handler(bad, 'app:info', {});
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'UNAUTHORIZED');
    assert.equal(isTrustedSender(bad, OWN), false);
  }
  assert.equal(seen.length, 1, 'a refused sender never reaches the dispatcher');
});

test('IPC: every input is validated against the contract before a handler runs', async (t) => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'ipc' });
  t.after(() => ws.close());
  const { ipc } = fakeIpcMain();
  const handler = registerIpc(ipc, OWN, (name, request) => ws.dispatch(name, request));
  const code = async (name: unknown, request: unknown) => {
    const r = await handler(frame(OWN), name, request);
    return r.ok ? 'ok' : r.error.code;
  };
  assert.equal(await code('app:info', {}), 'ok');
  assert.equal(await code('nope:nope', {}), 'UNKNOWN_CALL');
  assert.equal(await code({ toString: () => 'app:info' }, {}), 'UNKNOWN_CALL');
  assert.equal(await code('__proto__', {}), 'UNKNOWN_CALL');
  assert.equal(await code('constructor', {}), 'UNKNOWN_CALL');
  // Bad requests for calls the station answers before any account exists (the others are refused even earlier).
  assert.equal(await code('app:info', 'not an object'), 'BAD_REQUEST');
  assert.equal(await code('system:status', 42), 'BAD_REQUEST');
  assert.equal(await code('accounts:login', { username: 7, password: null }), 'BAD_REQUEST');
});

test('the main process wires every guard (and opens no other IPC channel)', () => {
  const src = fs.readFileSync(path.join(repoRoot, 'electron', 'main', 'index.ts'), 'utf8');
  assert.match(src, /app\.enableSandbox\(\)/);
  assert.match(src, /if \(!app\.requestSingleInstanceLock\(\)\) app\.exit\(0\)/, 'one instance: a second start exits');
  assert.match(src, /app\.on\('second-instance', /, 'and the running one focuses its window');
  assert.match(src, /new BrowserWindow\(mainWindowOptions\(/, 'the window gets mainWindowOptions');
  assert.match(src, /guardWebContents\(win\.webContents, rendererIndexUrl\)/);
  assert.match(src, /app\.on\('web-contents-created', \(_e, contents\) => guardWebContents\(contents, rendererIndexUrl\)\)/);
  assert.match(src, /guardSession\(session\.defaultSession\)/);
  assert.match(src, /registerIpc\(ipcMain, rendererIndexUrl, \(name, request\) => ws\.dispatch\(name, request\)\)/);
  for (const dir of ['main', 'preload']) {
    for (const f of fs.readdirSync(path.join(repoRoot, 'electron', dir)).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && n !== 'security.ts')) {
      const text = fs.readFileSync(path.join(repoRoot, 'electron', dir, f), 'utf8');
      assert.doesNotMatch(text, /ipcMain\.(handle|on|once|handleOnce)\(/, `${dir}/${f} registers no IPC handler of its own`);
      assert.doesNotMatch(text, /nodeIntegration:\s*true|contextIsolation:\s*false|sandbox:\s*false|webSecurity:\s*false/, `${dir}/${f}`);
      assert.doesNotMatch(text, /shell\.openExternal|loadURL\(\s*['"`]https?:/, `${dir}/${f} opens nothing remote`);
    }
  }
  const preload = fs.readFileSync(path.join(repoRoot, 'electron', 'preload', 'index.ts'), 'utf8');
  assert.match(preload, /contextBridge\.exposeInMainWorld\('cxr', api\)/);
  assert.match(preload, /isKnownCall\(name\)/);
  assert.match(preload, /isKnownEvent\(name\)/);
  assert.doesNotMatch(preload, /exposeInMainWorld\([^)]*ipcRenderer/, 'the raw ipcRenderer is never exposed');
});
