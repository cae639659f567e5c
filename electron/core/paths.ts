// Where the station keeps its data, and where a packaged install keeps its files.
//
// The data folder: chosen at first run by the desktop app (or the default, the folder Electron uses as `userData`
// for this product name) and remembered in `station.json` inside that default folder, so that the app, the CLI and
// the web mode all open the same case store. CXR_DB (the caller passes the environment in) names a database file
// directly and wins over both, for the desktop app, the CLI and the web mode alike; --db wins over CXR_DB.
//
// The packaged layout (electron-builder): `resources/app.asar` holds the app's JavaScript, native modules are
// unpacked beside it in `resources/app.asar.unpacked/`, and the model pack is an extra resource in
// `resources/models/packs/<name>/`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from './errors';
import { DB_FILE_NAME } from './store/index';

export const PRODUCT_NAME = 'CXR Workstation';
export const STATION_CONFIG_FILE = 'station.json';

export function defaultUserDataDir(platform: NodeJS.Platform, env: Record<string, string | undefined>, home: string = os.homedir()): string {
  if (platform === 'win32') return path.win32.join(env.APPDATA ?? path.win32.join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', PRODUCT_NAME);
  return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(home, '.config'), PRODUCT_NAME);
}

/** The station's own settings that must be known before the case store opens (it says where the store is). */
export interface StationConfig {
  /** the folder holding cxr.sqlite, its key file and its blob folder */
  dataDir: string;
  /** when the data folder was chosen (ISO 8601) */
  chosenAt: string;
}

export function stationConfigPath(userDataDir: string): string {
  return path.join(userDataDir, STATION_CONFIG_FILE);
}

/** The saved configuration, or null before the first run has chosen a data folder. A damaged file is an error. */
export function readStationConfig(userDataDir: string): StationConfig | null {
  const file = stationConfigPath(userDataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('CONFIG_UNREADABLE', `Cannot read the station configuration ${file}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AppError('CONFIG_UNREADABLE', `The station configuration ${file} is not valid JSON (${(e as Error).message}). Fix or delete it; deleting it asks for the data folder again.`, { cause: e });
  }
  const c = json as Partial<StationConfig> | null;
  if (!c || typeof c.dataDir !== 'string' || !path.isAbsolute(c.dataDir)) {
    throw new AppError('CONFIG_UNREADABLE', `The station configuration ${file} names no absolute data folder ("dataDir"). Fix or delete it; deleting it asks for the data folder again.`);
  }
  return { dataDir: c.dataDir, chosenAt: typeof c.chosenAt === 'string' ? c.chosenAt : '' };
}

/** Save the configuration atomically (temporary file, flush, rename): a crash leaves the old file or the new one. */
export function writeStationConfig(userDataDir: string, config: StationConfig): void {
  fs.mkdirSync(userDataDir, { recursive: true });
  const file = stationConfigPath(userDataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(config, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Check that `dir` can hold the case store: created if missing, writable (a probe file is written, flushed and
 * removed), and not inside the application's own install folder (an update would replace it). Returns the
 * problem as a sentence, or null when the folder is usable.
 */
export function dataDirProblem(dir: string, installDir?: string): string | null {
  if (!path.isAbsolute(dir)) return `${dir} is not an absolute path.`;
  if (installDir) {
    const rel = path.relative(path.resolve(installDir), path.resolve(dir));
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return `${dir} is inside the application's install folder, which an update or uninstall replaces: choose a folder elsewhere.`;
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    return `${dir} cannot be created (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`;
  }
  if (!fs.statSync(dir).isDirectory()) return `${dir} is not a folder.`;
  const probe = path.join(dir, `.cxr-write-test-${process.pid}`);
  try {
    const fd = fs.openSync(probe, 'w', 0o600);
    try {
      fs.writeSync(fd, 'cxr');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.rmSync(probe, { force: true });
  } catch (e) {
    fs.rmSync(probe, { force: true });
    return `${dir} is not writable by this user (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`;
  }
  return null;
}

/** Where the case database is, and why: CXR_DB, the data folder chosen at first run, the default, or --db. */
export interface DbLocation {
  dbPath: string;
  source: 'env' | 'chosen' | 'default' | 'argument';
}

export function resolveDbLocation(platform: NodeJS.Platform, env: Record<string, string | undefined>, userDataDir: string = defaultUserDataDir(platform, env)): DbLocation {
  if (env.CXR_DB) return { dbPath: path.resolve(env.CXR_DB), source: 'env' };
  const config = readStationConfig(userDataDir);
  if (config) return { dbPath: path.join(config.dataDir, DB_FILE_NAME), source: 'chosen' };
  return { dbPath: path.join(userDataDir, DB_FILE_NAME), source: 'default' };
}

/** The database the CLI and `cxr serve` open without --db: the one the desktop app opens (CXR_DB too, for both). */
export function defaultDbLocation(platform: NodeJS.Platform, env: Record<string, string | undefined>): DbLocation {
  return resolveDbLocation(platform, env);
}

export function defaultDbPath(platform: NodeJS.Platform, env: Record<string, string | undefined>): string {
  return defaultDbLocation(platform, env).dbPath;
}

/** defaultDbPath for help texts: never throws (a damaged station.json is named instead). */
export function describeDefaultDbPath(platform: NodeJS.Platform, env: Record<string, string | undefined>): string {
  try {
    return defaultDbPath(platform, env);
  } catch (e) {
    return `unknown: ${(e as Error).message}`;
  }
}

/**
 * A path inside `app.asar` as the file system sees it once unpacked: native modules and files that a worker
 * thread or the operating system loads (a .node addon, a .wasm read by a worker) live in `app.asar.unpacked`.
 * Paths outside an asar archive come back unchanged.
 */
export function unpackedPath(p: string): string {
  return p.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}
