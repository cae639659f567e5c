// Where the Electron main process finds its files, in development (`npm start`: dist/electron beside the
// repository) and in a packaged install (electron-builder: resources/app.asar, resources/app.asar.unpacked,
// resources/models). A pure function of the app's own location, so that paths.test.ts can check both layouts.
import fs from 'node:fs';
import path from 'node:path';
import { resolvePackDir, type PackLocation } from '../core/inference/paths';
import { unpackedPath } from '../core/paths';

export interface MainLayout {
  /** dist/electron (the folder of main.mjs) */
  mainDir: string;
  isPackaged: boolean;
  /** process.resourcesPath in a packaged app */
  resourcesPath?: string;
}

export interface MainPaths {
  rendererIndex: string;
  preload: string;
  modelPack: PackLocation;
  /** better-sqlite3-multiple-ciphers built for Electron's ABI, when it is not the one in node_modules */
  sqliteNativeBinding: string | undefined;
  /** the image codecs' WebAssembly file, where a worker thread can read it (outside app.asar) */
  codecsWasm: string | undefined;
  /** the window icon (Linux; Windows takes it from the executable) */
  icon: string | undefined;
}

const SQLITE_ELECTRON_BINARY = 'better_sqlite3_multiple_ciphers.node';

export function resolveMainPaths(layout: MainLayout, exists: (p: string) => boolean = fs.existsSync): MainPaths {
  const appRoot = path.resolve(layout.mainDir, '..', '..');
  const rendererIndex = path.join(appRoot, 'dist', 'renderer', 'index.html');
  const preload = path.join(layout.mainDir, 'preload.cjs');
  if (layout.isPackaged) {
    // electron-builder rebuilt the native modules for Electron in place and unpacked them: no override needed.
    const wasm = unpackedPath(path.join(appRoot, 'node_modules', 'dcmjs-codecs', 'build', 'dcmjs-native-codecs.wasm'));
    const icon = path.join(layout.resourcesPath ?? appRoot, 'icon.png');
    return {
      rendererIndex,
      preload,
      modelPack: resolvePackDir({ isPackaged: true, resourcesPath: layout.resourcesPath }),
      sqliteNativeBinding: undefined,
      codecsWasm: exists(wasm) ? wasm : undefined,
      icon: exists(icon) ? icon : undefined,
    };
  }
  // `npm start`: scripts/electron-native.mjs put an Electron-ABI copy beside node_modules' Node-ABI build.
  const binding = path.join(appRoot, 'node_modules', '.cxr-electron', SQLITE_ELECTRON_BINARY);
  const icon = path.join(appRoot, 'build', 'icon.png');
  return {
    rendererIndex,
    preload,
    modelPack: resolvePackDir({ isPackaged: false, repoRoot: appRoot }),
    sqliteNativeBinding: exists(binding) ? binding : undefined,
    codecsWasm: undefined,
    icon: exists(icon) ? icon : undefined,
  };
}
