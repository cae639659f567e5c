import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { defaultUserDataDir, readStationConfig, writeStationConfig, stationConfigPath, resolveDbLocation, defaultDbPath, describeDefaultDbPath, dataDirProblem, unpackedPath } from './paths';
import { AppError } from './errors';
import { tempDir } from '../testing/index';

test('the default user-data folder follows each platform’s convention', () => {
  assert.equal(defaultUserDataDir('win32', { APPDATA: 'C:\\Users\\r\\AppData\\Roaming' }), 'C:\\Users\\r\\AppData\\Roaming\\CXR Workstation');
  assert.equal(defaultUserDataDir('linux', {}, '/home/r'), '/home/r/.config/CXR Workstation');
  assert.equal(defaultUserDataDir('linux', { XDG_CONFIG_HOME: '/cfg' }, '/home/r'), '/cfg/CXR Workstation');
});

test('the data folder chosen at first run is remembered and found by every entry point', () => {
  const userData = tempDir();
  const env = { XDG_CONFIG_HOME: path.dirname(userData) };
  assert.equal(readStationConfig(userData), null);
  assert.deepEqual(resolveDbLocation('linux', {}, userData), { dbPath: path.join(userData, 'cxr.sqlite'), source: 'default' });
  const dataDir = tempDir();
  writeStationConfig(userData, { dataDir, chosenAt: '2026-11-28T14:00:00.000Z' });
  assert.deepEqual(readStationConfig(userData), { dataDir, chosenAt: '2026-11-28T14:00:00.000Z' });
  assert.deepEqual(resolveDbLocation('linux', {}, userData), { dbPath: path.join(dataDir, 'cxr.sqlite'), source: 'chosen' });
  assert.deepEqual(resolveDbLocation('linux', { CXR_DB: '/x/y.sqlite' }, userData), { dbPath: path.resolve('/x/y.sqlite'), source: 'env' });
  // The CLI's default (no --db) follows the same file, through XDG_CONFIG_HOME/<product name>.
  const named = path.join(path.dirname(userData), 'CXR Workstation');
  writeStationConfig(named, { dataDir, chosenAt: '' });
  assert.equal(defaultDbPath('linux', env), path.join(dataDir, 'cxr.sqlite'));
  // CXR_DB names the database for the CLI and the web mode as for the desktop app
  assert.equal(defaultDbPath('linux', { ...env, CXR_DB: '/x/y.sqlite' }), path.resolve('/x/y.sqlite'));
  assert.equal(fs.readdirSync(userData).filter((f) => f.endsWith('.tmp')).length, 0, 'written atomically, no temporary left');
});

test('a damaged station.json is a clear error, not a silently different store', () => {
  const userData = tempDir();
  fs.writeFileSync(stationConfigPath(userData), '{ "dataDir": ');
  assert.throws(() => readStationConfig(userData), (e: unknown) => e instanceof AppError && e.code === 'CONFIG_UNREADABLE' && /not valid JSON/.test(e.message));
  fs.writeFileSync(stationConfigPath(userData), JSON.stringify({ dataDir: 'relative/dir' }));
  assert.throws(() => readStationConfig(userData), /names no absolute data folder/);
  assert.throws(() => resolveDbLocation('linux', {}, userData), /CONFIG_UNREADABLE|names no absolute/);
  const env = { XDG_CONFIG_HOME: path.dirname(userData) };
  fs.mkdirSync(path.join(path.dirname(userData), 'CXR Workstation'), { recursive: true });
  fs.writeFileSync(path.join(path.dirname(userData), 'CXR Workstation', 'station.json'), 'garbage');
  assert.match(describeDefaultDbPath('linux', env), /^unknown: .*not valid JSON/, 'help texts never throw');
});

test('a data folder must be creatable, writable, a folder, and outside the install folder', () => {
  const base = tempDir();
  assert.equal(dataDirProblem(path.join(base, 'new', 'nested')), null, 'created when missing');
  assert.ok(fs.statSync(path.join(base, 'new', 'nested')).isDirectory());
  assert.deepEqual(fs.readdirSync(path.join(base, 'new', 'nested')), [], 'the write probe is removed');
  const file = path.join(base, 'a-file');
  fs.writeFileSync(file, 'x');
  assert.match(dataDirProblem(path.join(file, 'sub')) ?? '', /cannot be created \(ENOTDIR\)/);
  assert.match(dataDirProblem(file) ?? '', /cannot be created|not a folder/);
  assert.match(dataDirProblem('relative') ?? '', /not an absolute path/);
  const install = path.join(base, 'Programs', 'CXR Workstation');
  assert.match(dataDirProblem(path.join(install, 'data'), install) ?? '', /inside the application's install folder/);
  assert.match(dataDirProblem(install, install) ?? '', /inside the application's install folder/);
  assert.equal(dataDirProblem(path.join(base, 'Programs', 'CXR Workstation data'), install), null, 'a sibling with a longer name is outside');
});

test('paths inside app.asar map to app.asar.unpacked', () => {
  assert.equal(unpackedPath('/opt/CXR Workstation/resources/app.asar/node_modules/x/y.wasm'), '/opt/CXR Workstation/resources/app.asar.unpacked/node_modules/x/y.wasm');
  assert.equal(unpackedPath('C:\\Program Files\\CXR\\resources\\app.asar\\node_modules\\x.node'), 'C:\\Program Files\\CXR\\resources\\app.asar.unpacked\\node_modules\\x.node');
  assert.equal(unpackedPath('/work/node_modules/x/y.wasm'), '/work/node_modules/x/y.wasm');
  assert.equal(unpackedPath('/r/app.asar.unpacked/x'), '/r/app.asar.unpacked/x');
});
