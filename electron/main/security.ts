// Hardened window settings and the guards every web contents gets: no Node in the page, sandbox, isolation,
// no navigation away from the app, no new windows, no permissions, no remote content, and one IPC channel that
// answers only the app's own page and validates every call against the contract.
//
// Everything here is a pure function over the Electron objects it is given, so that security.test.ts can check
// each rule with recording fakes, without the Electron binary.
import type { BrowserWindowConstructorOptions, WebContents, Session, IpcMain, IpcMainInvokeEvent } from 'electron';

/**
 * The page's Content-Security-Policy. renderer/index.html carries it as a meta tag (file:// responses have no
 * headers to carry it); guardSession also sets it as a header on every response that passes the network stack.
 * Only the app's own files run; nothing may be fetched from, framed by or posted to anywhere else.
 */
export const APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
  "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'";

/** URL schemes the page may load: its own files, and data/blob URLs it makes itself (images, workers). */
export const ALLOWED_SCHEMES: readonly string[] = ['file:', 'data:', 'blob:', 'devtools:'];

export function hardenedWebPreferences(preloadPath: string, opts: { devTools?: boolean } = {}): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
    // A clinic's installed app has no developer tools; `npm start` keeps them.
    devTools: opts.devTools ?? false,
  };
}

/** The main window's options: hardened web preferences and nothing shown until the page has painted. */
export function mainWindowOptions(preloadPath: string, opts: { devTools?: boolean; icon?: string } = {}): BrowserWindowConstructorOptions {
  return {
    width: 1600,
    height: 1000,
    minWidth: 1024,
    minHeight: 700,
    show: false,
    backgroundColor: '#0b0d10',
    title: 'CXR Workstation',
    ...(opts.icon ? { icon: opts.icon } : {}),
    webPreferences: hardenedWebPreferences(preloadPath, { devTools: opts.devTools }),
  };
}

/** True for the app's own page (a file inside the renderer folder). */
export function isAppUrl(url: string, rendererIndexUrl: string): boolean {
  try {
    const u = new URL(url);
    const own = new URL(rendererIndexUrl);
    return u.protocol === 'file:' && u.pathname === own.pathname;
  } catch {
    return false;
  }
}

/** True when a request URL may be loaded at all (see ALLOWED_SCHEMES). */
export function isAllowedRequest(url: string): boolean {
  return ALLOWED_SCHEMES.some((s) => url.startsWith(s));
}

/** The parts of WebContents the guards use (a recording fake in the tests). */
export type GuardableContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

export function guardWebContents(contents: GuardableContents, rendererIndexUrl: string): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, rendererIndexUrl)) event.preventDefault();
  });
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(event.url, rendererIndexUrl)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** The parts of Session the guards use. */
export type GuardableSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'> & {
  webRequest: Pick<Session['webRequest'], 'onBeforeRequest' | 'onHeadersReceived'>;
};

export function guardSession(session: GuardableSession): void {
  // Camera, microphone, notifications, geolocation, USB, HID, serial, clipboard reads...: never.
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  // Nothing is ever fetched from outside the machine.
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequest(details.url) }));
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP], 'X-Content-Type-Options': ['nosniff'] } });
  });
}

export type IpcReply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

/** Only the app's own page, in its main frame, may call (VS Code's validatedIpcMain does the same). */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>, rendererIndexUrl: string): boolean {
  const frame = event.senderFrame;
  return !!frame && frame.parent === null && isAppUrl(frame.url, rendererIndexUrl);
}

export const IPC_CHANNEL = 'cxr:invoke';
export const IPC_EVENT_CHANNEL = 'cxr:event';

/**
 * The one IPC channel: `cxr:invoke(name, request)`. The sender is checked here; the name and the request are
 * checked by `dispatch` (the Workstation's: known call, request parsed by the contract's schema, session allowed).
 * Returns the handler (the tests call it directly).
 */
export function registerIpc(
  ipcMain: Pick<IpcMain, 'handle'>,
  rendererIndexUrl: string,
  dispatch: (name: unknown, request: unknown) => Promise<IpcReply>,
): (event: Pick<IpcMainInvokeEvent, 'senderFrame'>, name: unknown, request: unknown) => Promise<IpcReply> {
  const handler = async (event: Pick<IpcMainInvokeEvent, 'senderFrame'>, name: unknown, request: unknown): Promise<IpcReply> => {
    if (!isTrustedSender(event, rendererIndexUrl)) {
      return { ok: false, error: { code: 'UNAUTHORIZED', message: 'Calls are accepted from the app’s own page only.' } };
    }
    return dispatch(name, request);
  };
  ipcMain.handle(IPC_CHANNEL, handler as Parameters<IpcMain['handle']>[1]);
  return handler;
}
