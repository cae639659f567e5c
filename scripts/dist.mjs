// `npm run dist [-- --win | --linux] [electron-builder options]`: the installers for clinic PCs.
//   1. checks the model pack that will ship (checksum), so that no installer carries a pack the app refuses;
//   2. builds the UI and the main process (npm run build);
//   3. runs electron-builder with build/electron-builder.mjs (default: the targets of the platform it runs on);
//   4. puts back the Node builds of the native modules where electron-builder replaced them with Electron builds
//      (in node_modules), which the CLI, the web mode and the tests (plain Node) cannot load.
// Needs internet access to Electron's download host (or CXR_ELECTRON_DIST, see build/electron-builder.mjs) and to
// the native modules' prebuilt binaries.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_PACK, UNPACKED_MODULES } from '../build/electron-builder.mjs';
import { modelPackProblem } from './packaging.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });

const problem = modelPackProblem(path.join(root, 'models', 'packs', MODEL_PACK));
if (problem) {
  console.error(`dist: the model pack is not fit to ship: ${problem}`);
  process.exit(1);
}
let r = run(npm, ['run', 'build']);
if (r.status !== 0) process.exit(r.status ?? 1);

r = run(npx, ['electron-builder', '--config', 'build/electron-builder.mjs', '--publish', 'never', ...process.argv.slice(2)]);
const status = r.status ?? 1;

// Native modules electron-builder rebuilt for Electron (it does so in node_modules): rebuild for this Node those
// that no longer load here, and only those (a run that failed before the rebuild left them as they were).
const loadsInNode = (m) => spawnSync(process.execPath, ['-e', `new (require(${JSON.stringify(m)}))(':memory:').close()`], { cwd: root, stdio: 'ignore' }).status === 0;
const broken = UNPACKED_MODULES.filter((m) => m.startsWith('better-sqlite3') && !loadsInNode(m));
if (broken.length) {
  console.log(`dist: rebuilding ${broken.join(', ')} for Node ${process.version} (electron-builder left Electron builds in node_modules)`);
  const back = run(npm, ['rebuild', ...broken]);
  if (back.status !== 0 || broken.some((m) => !loadsInNode(m))) {
    console.error(`dist: could not rebuild ${broken.join(', ')} for Node; run \`npm rebuild ${broken.join(' ')}\` before using the CLI or the tests.`);
  }
}
if (status === 0) console.log(`dist: installers in ${path.join(root, 'dist', 'installers')}`);
process.exit(status);
