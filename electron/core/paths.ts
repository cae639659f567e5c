// Where the station keeps its data when nobody says otherwise: the same folder Electron uses as `userData` for
// this product name, so that the app, the CLI and the web mode share one case store by default.
import os from 'node:os';
import path from 'node:path';
import { DB_FILE_NAME } from './store/index';

export const PRODUCT_NAME = 'CXR Workstation';

export function defaultUserDataDir(platform: NodeJS.Platform, env: Record<string, string | undefined>, home: string = os.homedir()): string {
  if (platform === 'win32') return path.win32.join(env.APPDATA ?? path.win32.join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', PRODUCT_NAME);
  return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(home, '.config'), PRODUCT_NAME);
}

export function defaultDbPath(platform: NodeJS.Platform, env: Record<string, string | undefined>): string {
  return path.join(defaultUserDataDir(platform, env), DB_FILE_NAME);
}
