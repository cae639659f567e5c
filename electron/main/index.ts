// Electron main process: thin glue. It creates the hardened window, opens the case store in the user-data
// folder, and forwards the contract's calls and events between the page and the core services.
import { app, BrowserWindow, ipcMain, dialog, session } from 'electron';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Workstation } from '../core/api/index';
import { eventNames } from '../contract/index';
import { DB_FILE_NAME } from '../core/store/index';
import { toErrorInfo } from '../core/errors';
import { hardenedWebPreferences, guardWebContents, guardSession, isAppUrl } from './security';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererIndex = path.resolve(here, '../renderer/index.html');
const rendererIndexUrl = pathToFileURL(rendererIndex).toString();

app.setName('CXR Workstation');
app.enableSandbox();

let workstation: Workstation | null = null;

/** The bundled model pack: beside the app in a packaged install (extra resources), in the repository in development. */
function modelPackDir(): string {
  const packaged = path.join(process.resourcesPath ?? '', 'models', 'packs', 'cxr-tb-v1');
  return app.isPackaged && fs.existsSync(packaged) ? packaged : path.resolve(here, '../../models/packs/cxr-tb-v1');
}

/** better-sqlite3 built for Electron's ABI by scripts/electron-native.mjs (development) or by electron-builder. */
function electronSqliteBinding(): string | undefined {
  const candidates = [path.resolve(here, '../../node_modules/.cxr-electron/better_sqlite3.node')];
  return candidates.find((p) => fs.existsSync(p));
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1600,
    height: 1000,
    backgroundColor: '#0b0d10',
    title: 'CXR Workstation',
    webPreferences: hardenedWebPreferences(path.join(here, 'preload.cjs')),
  });
  guardWebContents(win.webContents, rendererIndexUrl);
  void win.loadFile(rendererIndex);
  return win;
}

app.on('web-contents-created', (_e, contents) => guardWebContents(contents, rendererIndexUrl));

app.whenReady().then(() => {
  guardSession(session.defaultSession);
  const dbPath = process.env.CXR_DB ? path.resolve(process.env.CXR_DB) : path.join(app.getPath('userData'), DB_FILE_NAME);
  try {
    workstation = new Workstation({ dbPath, transport: 'ipc', sqliteNativeBinding: electronSqliteBinding(), modelDir: modelPackDir() });
  } catch (e) {
    const info = toErrorInfo(e);
    dialog.showErrorBox('CXR Workstation cannot open its case store', `${info.code}: ${info.message}`);
    app.exit(1);
    return;
  }
  const ws = workstation;

  ipcMain.handle('cxr:invoke', async (event, name: unknown, request: unknown) => {
    // Only our own page, in its main frame, may call.
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null || !isAppUrl(frame.url, rendererIndexUrl)) {
      return { ok: false, error: { code: 'UNAUTHORIZED', message: 'Calls are accepted from the app’s own page only.' } };
    }
    return ws.dispatch(name, request);
  });

  const win = createWindow();
  for (const name of eventNames) {
    ws.on(name, (payload) => {
      if (!win.isDestroyed()) win.webContents.send('cxr:event', name, payload);
    });
  }
});

app.on('window-all-closed', () => {
  const ws = workstation;
  workstation = null;
  void (ws ? ws.close() : Promise.resolve()).finally(() => app.quit());
});
