// Electron runs its own Node ABI, so the better-sqlite3 binary that `npm install` built for Node (used by the CLI,
// the web mode and the tests) cannot load in the Electron main process. This script puts a second copy, built for
// the installed Electron, at node_modules/.cxr-electron/better_sqlite3.node, which the main process passes to
// better-sqlite3 as `nativeBinding`. (onnxruntime-node is an N-API addon: one binary serves both.)
//
// It first asks prebuild-install for the published Electron prebuild, then falls back to node-gyp against
// Electron's headers; both need internet access to those hosts, which a developer's or a build machine has.
// It never touches the Node build in node_modules/better-sqlite3/build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(root, 'node_modules', '.cxr-electron');
const target = path.join(outDir, 'better_sqlite3.node');
const electronVersion = require('electron/package.json').version;
const sqliteDir = path.dirname(require.resolve('better-sqlite3/package.json'));
const stamp = path.join(outDir, 'electron-version.txt');

if (fs.existsSync(target) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === electronVersion) {
  console.log(`better-sqlite3 for Electron ${electronVersion}: ready`);
  process.exit(0);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-electron-native-'));
fs.cpSync(sqliteDir, work, { recursive: true, filter: (src) => !src.includes(`${path.sep}build${path.sep}`) && !src.endsWith(`${path.sep}build`) });
const run = (cmd, args) => spawnSync(cmd, args, { cwd: work, stdio: 'inherit', shell: process.platform === 'win32', env: { ...process.env, npm_config_nodedir: '' } });
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

let r = run(bin('prebuild-install'), ['--runtime=electron', `--target=${electronVersion}`, `--arch=${process.arch}`, `--platform=${process.platform}`]);
if (r.status !== 0) {
  console.log('no Electron prebuild could be fetched; building against Electron headers with node-gyp');
  const gypArgs = ['rebuild', '--release', `--target=${electronVersion}`, `--arch=${process.arch}`, '--dist-url=https://electronjs.org/headers'];
  let gyp = null;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    gyp = null;
  }
  r = gyp ? run(process.execPath, [gyp, ...gypArgs]) : run('npx', ['--yes', 'node-gyp', ...gypArgs]);
}
const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
if (r.status !== 0 || !fs.existsSync(built)) {
  console.error(`Could not get better-sqlite3 for Electron ${electronVersion}. This needs internet access to GitHub (prebuilds) or electronjs.org (headers). The CLI and the web mode (npm run serve) work without it.`);
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });
fs.copyFileSync(built, target);
fs.writeFileSync(stamp, electronVersion);
fs.rmSync(work, { recursive: true, force: true });
console.log(`better-sqlite3 for Electron ${electronVersion}: ${target}`);
