// Electron main process: thin glue. It finds its files (development or packaged layout), asks for the data folder
// on first run, opens the case store, creates the hardened window, and forwards the contract's calls and events
// between the page and the core services. The rules themselves live in security.ts, paths.ts and setup.ts.
import { app, BrowserWindow, ipcMain, dialog, session, safeStorage } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Workstation, type WorkstationOptions } from '../core/api/index';
import { eventNames } from '../contract/index';
import { toErrorInfo } from '../core/errors';
import { configureImaging } from '../core/imaging/index';
import { mainWindowOptions, guardWebContents, guardSession, registerIpc, IPC_EVENT_CHANNEL } from './security';
import { resolveMainPaths } from './paths';
import { chooseDataLocation, type SetupDialogs } from './setup';
import { osKeyWrapper } from './keystore';

const paths = resolveMainPaths({ mainDir: path.dirname(fileURLToPath(import.meta.url)), isPackaged: app.isPackaged, resourcesPath: process.resourcesPath });
const rendererIndexUrl = pathToFileURL(paths.rendererIndex).toString();

app.setName('CXR Workstation');
app.enableSandbox();
// One station, one window: a second launch brings the running one forward instead of opening the store twice.
if (!app.requestSingleInstanceLock()) app.exit(0);

let workstation: Workstation | null = null;
let mainWindow: BrowserWindow | null = null;

const dialogs: SetupDialogs = {
  async askDataFolder(defaultDir) {
    const r = await dialog.showMessageBox({
      type: 'question',
      title: 'CXR Workstation: data folder',
      message: 'Where should this station keep its case store?',
      detail:
        `Patient images, readings and reports are stored, encrypted, in one folder on this PC.\n\nDefault: ${defaultDir}\n\n` +
        'Choose another folder to keep them on a data disk. Back the folder up regularly (Settings > Backup).',
      buttons: ['Use the default folder', 'Choose another folder…', 'Quit'],
      defaultId: 0,
      cancelId: 2,
      noLink: true,
    });
    return (['default', 'choose', 'quit'] as const)[r.response] ?? 'quit';
  },
  async pickFolder(startDir) {
    const r = await dialog.showOpenDialog({ title: 'Choose the data folder', defaultPath: startDir, properties: ['openDirectory', 'createDirectory', 'promptToCreate'] });
    return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0];
  },
  async problem(message) {
    const r = await dialog.showMessageBox({ type: 'warning', title: 'CXR Workstation: data folder', message: 'The data folder cannot be used', detail: message, buttons: ['Choose a folder…', 'Quit'], defaultId: 0, cancelId: 1, noLink: true });
    return r.response === 0 ? 'retry' : 'quit';
  },
};

function createWindow(ws: Workstation): BrowserWindow {
  const win = new BrowserWindow(mainWindowOptions(paths.preload, { devTools: !app.isPackaged, icon: paths.icon }));
  guardWebContents(win.webContents, rendererIndexUrl);
  win.once('ready-to-show', () => win.show());
  for (const name of eventNames) {
    const off = ws.on(name, (payload) => {
      if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, name, payload);
    });
    win.once('closed', off);
  }
  void win.loadFile(paths.rendererIndex);
  return win;
}

app.on('web-contents-created', (_e, contents) => guardWebContents(contents, rendererIndexUrl));
app.on('second-instance', () => {
  if (mainWindow && !mainWindow.isDestroyed()) {
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  }
});

async function start(): Promise<void> {
  guardSession(session.defaultSession);
  if (paths.codecsWasm) configureImaging({ wasmPath: paths.codecsWasm });
  let options: WorkstationOptions;
  try {
    const location = await chooseDataLocation({ env: process.env, userDataDir: app.getPath('userData'), installDir: app.isPackaged ? path.dirname(app.getPath('exe')) : undefined, dialogs });
    if (!location) {
      app.exit(0);
      return;
    }
    options = {
      dbPath: location.dbPath,
      dbSource: location.source,
      transport: 'ipc',
      sqliteNativeBinding: paths.sqliteNativeBinding,
      modelDir: paths.modelPack.dir,
      // the store's key is also wrapped by the OS key store (DPAPI, keyring) where it really protects
      key: { os: osKeyWrapper(safeStorage) ?? undefined },
    };
    workstation = new Workstation(options);
  } catch (e) {
    const info = toErrorInfo(e);
    dialog.showErrorBox('CXR Workstation cannot open its case store', `${info.code}: ${info.message}`);
    app.exit(1);
    return;
  }
  const ws = workstation;
  registerIpc(ipcMain, rendererIndexUrl, (name, request) => ws.dispatch(name, request));
  mainWindow = createWindow(ws);
  // A restore checked and staged from Settings is put in place when the store is next opened: restart to finish.
  ws.on('system:onRestartRequired', ({ reason }) => {
    void dialog.showMessageBox({ type: 'info', title: 'CXR Workstation: restore', message: 'The backup is ready to be restored', detail: `${reason}\n\nThe app restarts now.`, buttons: ['Restart'] }).then(() => {
      app.relaunch();
      app.quit();
    });
  });
}

app.whenReady().then(start, (e) => {
  dialog.showErrorBox('CXR Workstation could not start', String((e as Error)?.message ?? e));
  app.exit(1);
});

app.on('window-all-closed', () => {
  const ws = workstation;
  workstation = null;
  void (ws ? ws.close() : Promise.resolve()).finally(() => app.quit());
});
