// Electron runs its own Node ABI, so the SQLite binaries that `npm install` built for Node (used by the CLI, the
// web mode and the tests) cannot load in the Electron main process. For `npm start`, this script puts a second copy
// of each, built for the installed Electron, in node_modules/.cxr-electron/<module>.node (better_sqlite3.node,
// better_sqlite3_multiple_ciphers.node); electron/main/paths.ts passes the one the store uses as `nativeBinding`.
// (onnxruntime-node is an N-API addon: one binary serves both. Installers get their Electron builds from
// electron-builder instead, see build/electron-builder.mjs.)
//
// It first asks prebuild-install for the published Electron prebuild, then falls back to node-gyp against
// Electron's headers; both need internet access to those hosts, which a developer's or a build machine has.
// It never touches the Node builds in node_modules/<module>/build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(root, 'node_modules', '.cxr-electron');
const electronVersion = require('electron/package.json').version;
const MODULES = ['better-sqlite3-multiple-ciphers', 'better-sqlite3'];
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

function buildFor(moduleName) {
  const target = path.join(outDir, `${moduleName.replaceAll('-', '_')}.node`);
  const stamp = `${target}.electron-version`;
  if (fs.existsSync(target) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === electronVersion) {
    console.log(`${moduleName} for Electron ${electronVersion}: ready`);
    return true;
  }
  const moduleDir = path.dirname(require.resolve(`${moduleName}/package.json`));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-electron-native-'));
  fs.cpSync(moduleDir, work, { recursive: true, filter: (src) => !src.includes(`${path.sep}build${path.sep}`) && !src.endsWith(`${path.sep}build`) });
  const run = (cmd, args) => spawnSync(cmd, args, { cwd: work, stdio: 'inherit', shell: process.platform === 'win32', env: { ...process.env, npm_config_nodedir: '' } });
  let r = run(bin('prebuild-install'), ['--runtime=electron', `--target=${electronVersion}`, `--arch=${process.arch}`, `--platform=${process.platform}`]);
  if (r.status !== 0) {
    console.log(`no Electron prebuild of ${moduleName} could be fetched; building against Electron headers with node-gyp`);
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
    fs.rmSync(work, { recursive: true, force: true });
    return false;
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.copyFileSync(built, target);
  fs.writeFileSync(stamp, electronVersion);
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`${moduleName} for Electron ${electronVersion}: ${target}`);
  return true;
}

const failed = MODULES.filter((m) => !buildFor(m));
if (failed.length) {
  console.error(`Could not get ${failed.join(', ')} for Electron ${electronVersion}. This needs internet access to GitHub (prebuilds) or electronjs.org (headers). The CLI and the web mode (npm run serve) work without it.`);
  process.exit(1);
}
