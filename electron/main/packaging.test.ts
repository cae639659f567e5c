// The installer configuration (build/electron-builder.mjs), checked without the Electron binary: it passes
// electron-builder's own schema, declares the targets, files, resources and unpack rules the app needs, every file
// it names exists, and the packaged layout it produces is one where the main process finds the model pack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import { repoRoot, tempDir } from '../testing/index';
import { resolveMainPaths } from './paths';
import { PRODUCT_NAME } from '../core/paths';
import { verifyPackFiles, loadModelPack, defaultPackDir } from '../core/inference/index';
import { modelPackView } from '../core/api/handlers/system';
// @ts-expect-error plain ESM configuration without type declarations
import configDefault, { createConfig, MODEL_PACK, MODEL_PACK_FILES, UNPACKED_MODULES } from '../../build/electron-builder.mjs';
// @ts-expect-error plain ESM helper without type declarations
import { keptByFiles, filesFor, unpacked, stageExtraResources, modelPackProblem } from '../../scripts/packaging.mjs';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const config = configDefault();

test('the configuration passes electron-builder’s own schema', async () => {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
  const { DebugLogger } = require('builder-util');
  await validateConfiguration(config, new DebugLogger(false));
  // and the schema check can fail: a wrong type is refused
  await assert.rejects(validateConfiguration({ ...config, nsis: { ...config.nsis, oneClick: 'sometimes' } }, new DebugLogger(false)));
});

test('app id, product name, version and Electron version', () => {
  assert.equal(config.appId, 'org.cxr-workstation.app');
  assert.equal(config.productName, PRODUCT_NAME, 'the product name decides the user-data folder the app, CLI and web mode share');
  assert.equal(config.electronVersion, require('electron/package.json').version);
  assert.equal(config.electronVersion, pkg.devDependencies.electron, 'electron is pinned exactly');
  assert.equal(config.directories.output, 'dist/installers');
  assert.equal(config.publish, null, 'nothing is uploaded anywhere');
});

test('targets: Windows x64 NSIS with a per-machine/per-user choice, Linux x64 AppImage and deb', () => {
  assert.deepEqual(config.win.target, [{ target: 'nsis', arch: ['x64'] }]);
  assert.equal(config.nsis.oneClick, false, 'the assisted installer, with choices');
  assert.equal(config.nsis.perMachine, false, 'false + oneClick false: the installer asks "all users or just me"');
  assert.equal(config.nsis.allowElevation, true);
  assert.equal(config.nsis.allowToChangeInstallationDirectory, true);
  assert.equal(config.nsis.deleteAppDataOnUninstall, false, 'uninstalling never deletes patient data');
  assert.deepEqual(config.linux.target, [
    { target: 'AppImage', arch: ['x64'] },
    { target: 'deb', arch: ['x64'] },
  ]);
  assert.ok(config.linux.maintainer, 'a deb needs a maintainer');
  assert.ok(config.deb.depends.includes('libsecret-1-0'), 'the OS key store (safeStorage) on Linux');
});

test('electronDist comes from CXR_ELECTRON_DIST, and only from it', () => {
  assert.equal(createConfig({}).electronDist, undefined);
  assert.equal(createConfig({ CXR_ELECTRON_DIST: '/opt/electron-v45' }).electronDist, '/opt/electron-v45');
  assert.equal(createConfig({ CXR_BUILD_NUMBER: '77' }).buildVersion, '77');
});

test('native modules are rebuilt for Electron’s ABI and unpacked from the asar archive', () => {
  assert.equal(config.npmRebuild, true);
  assert.equal(config.buildDependenciesFromSource, false, 'prebuilt Electron binaries first');
  assert.equal(config.asar, true);
  for (const m of UNPACKED_MODULES) {
    assert.ok(pkg.dependencies[m], `${m} is a production dependency (devDependencies are not packaged)`);
    assert.ok(fs.existsSync(path.join(repoRoot, 'node_modules', m)), `${m} is installed`);
  }
  // Every native addon installed for the packaged platforms is unpacked and kept.
  const addons: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith('obj')) walk(abs); // compiler intermediates
      } else if (e.name.endsWith('.node') || /\.(so(\.\d+)*|dll)$/.test(e.name)) addons.push(path.relative(repoRoot, abs).split(path.sep).join('/'));
    }
  };
  for (const m of ['better-sqlite3-multiple-ciphers/build/Release', 'onnxruntime-node/bin/napi-v6/linux/x64', 'onnxruntime-node/bin/napi-v6/win32/x64']) walk(path.join(repoRoot, 'node_modules', m));
  assert.ok(addons.length >= 6, addons.join(', '));
  for (const a of addons) {
    if (a.endsWith('test_extension.node')) continue; // SQLite's test extension: not shipped (checked below)
    assert.ok(unpacked(a, config.asarUnpack), `${a} is unpacked`);
    const platform = a.includes('/win32/') ? 'win' : a.includes('/linux/') ? 'linux' : null;
    for (const p of platform ? [platform] : ['win', 'linux']) assert.ok(keptByFiles(a, filesFor(config, p)), `${a} ships for ${p}`);
  }
  assert.ok(unpacked('node_modules/onnxruntime-node/bin/napi-v6/win32/x64/DirectML.dll', config.asarUnpack), 'DirectML ships unpacked on Windows');
  assert.ok(unpacked('node_modules/dcmjs-codecs/build/dcmjs-native-codecs.wasm', config.asarUnpack), 'the codecs’ wasm is read by a worker thread');
});

test('files: the built app and its dependencies, without sources, tests, maps or other platforms’ binaries', () => {
  // Platform-level `files` would replace the common list in electron-builder 26 (seen in a --dir build): none.
  assert.equal(config.win.files, undefined);
  assert.equal(config.linux.files, undefined);
  const win = filesFor(config, 'win');
  const linux = filesFor(config, 'linux');
  for (const f of ['package.json', 'dist/electron/main.mjs', 'dist/electron/preload.cjs', 'dist/renderer/index.html', 'dist/renderer/assets/index-abc.js', 'node_modules/zod/index.js', 'node_modules/better-sqlite3-multiple-ciphers/lib/index.js']) {
    assert.ok(keptByFiles(f, win) && keptByFiles(f, linux), `${f} ships`);
  }
  for (const f of [
    'electron/main/index.ts',
    'models/packs/cxr-tb-v1/model.onnx',
    'models/training/train.py',
    'e2e/fixtures.ts',
    'dist/electron/main.mjs.map',
    'dist/installers/CXR-Workstation-Setup-0.1.0-x64.exe',
    'node_modules/better-sqlite3-multiple-ciphers/deps/sqlite3/sqlite3.c',
    'node_modules/better-sqlite3-multiple-ciphers/build/Release/obj.target/x.o',
    'node_modules/better-sqlite3-multiple-ciphers/build/Release/test_extension.node',
    'node_modules/better-sqlite3/build/deps/sqlite3.Makefile',
    'node_modules/better-sqlite3/build/Release/sqlite3.a',
    'node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib',
    'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    'node_modules/somepkg/test/fixture.js',
  ]) {
    assert.ok(!keptByFiles(f, win) && !keptByFiles(f, linux), `${f} does not ship`);
  }
  assert.ok(!keptByFiles('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1', win), 'no Linux binaries in the Windows installer');
  assert.ok(!keptByFiles('node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll', linux), 'no Windows binaries in the Linux packages');
  // package.json's main is what the build writes and what the files keep.
  assert.equal(pkg.main, 'dist/electron/main.mjs');
  const build = fs.readFileSync(path.join(repoRoot, 'scripts', 'build-electron.mjs'), 'utf8');
  assert.match(build, /outfile: 'dist\/electron\/main\.mjs'/);
  assert.match(build, /outfile: 'dist\/electron\/preload\.cjs'/);
});

test('every file the configuration names exists, and the icon is a square PNG of at least 256 px', () => {
  for (const r of config.extraResources) {
    assert.ok(fs.existsSync(path.join(repoRoot, r.from)), `${r.from} exists`);
    for (const f of r.filter ?? []) assert.ok(fs.existsSync(path.join(repoRoot, r.from, f)), `${r.from}/${f} exists`);
  }
  for (const icon of new Set([config.win.icon, config.linux.icon])) {
    const png = PNG.sync.read(fs.readFileSync(path.join(repoRoot, icon)));
    assert.equal(png.width, png.height);
    assert.ok(png.width >= 256, `${icon} is ${png.width} px (Windows needs 256)`);
  }
  assert.ok(fs.existsSync(path.join(repoRoot, config.directories.buildResources)));
  for (const s of ['dist', 'dist:win', 'dist:linux']) assert.match(pkg.scripts[s], /scripts\/dist\.mjs/, `npm run ${s}`);
});

test('the model pack ships as extra resources and passes the release check', () => {
  const r = config.extraResources.find((x: { from: string }) => x.from === `models/packs/${MODEL_PACK}`);
  assert.ok(r);
  assert.equal(r.to, `models/packs/${MODEL_PACK}`, 'where core/inference/paths.ts looks in a packaged app');
  for (const f of ['manifest.json', 'model.onnx', 'MODEL_CARD.md']) assert.ok(MODEL_PACK_FILES.includes(f), f);
  assert.equal(modelPackProblem(defaultPackDir()), null);
});

test('development layout: the main process finds the repository’s model pack', () => {
  const p = resolveMainPaths({ mainDir: path.join(repoRoot, 'dist', 'electron'), isPackaged: false });
  assert.equal(p.modelPack.source, 'development');
  assert.equal(p.modelPack.dir, defaultPackDir());
  assert.equal(p.rendererIndex, path.join(repoRoot, 'dist', 'renderer', 'index.html'));
  assert.equal(p.preload, path.join(repoRoot, 'dist', 'electron', 'preload.cjs'));
  assert.equal(verifyPackFiles(p.modelPack.dir).name, MODEL_PACK);
});

/** A temporary install laid out as electron-builder lays it out, from the configuration itself. */
function simulatedInstall(t: { after(fn: () => void): void }) {
  const install = tempDir('cxr-packaged-');
  t.after(() => fs.rmSync(install, { recursive: true, force: true }));
  const resources = path.join(install, 'resources');
  const copied = stageExtraResources(config, repoRoot, resources);
  // app.asar is one file to the OS; Electron reads inside it. Its unpacked twin is a real folder.
  fs.writeFileSync(path.join(resources, 'app.asar'), 'asar archive');
  const wasm = path.join(resources, 'app.asar.unpacked', 'node_modules', 'dcmjs-codecs', 'build', 'dcmjs-native-codecs.wasm');
  fs.mkdirSync(path.dirname(wasm), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'node_modules', 'dcmjs-codecs', 'build', 'dcmjs-native-codecs.wasm'), wasm);
  return { install, resources, copied, wasm };
}

test('packaged layout: the main process finds the model pack, verified, in resources/', async (t) => {
  const { resources, copied, wasm } = simulatedInstall(t);
  for (const f of MODEL_PACK_FILES) assert.ok(copied.includes(`models/packs/${MODEL_PACK}/${f}`), f);
  assert.ok(!copied.some((f: string) => f.includes('/parity/') || f.endsWith('model.export.json')), 'only what the app reads');
  const p = resolveMainPaths({ mainDir: path.join(resources, 'app.asar', 'dist', 'electron'), isPackaged: true, resourcesPath: resources });
  assert.equal(p.modelPack.source, 'packaged');
  assert.equal(p.modelPack.dir, path.join(resources, 'models', 'packs', MODEL_PACK));
  assert.equal(p.rendererIndex, path.join(resources, 'app.asar', 'dist', 'renderer', 'index.html'));
  assert.equal(p.sqliteNativeBinding, undefined, 'electron-builder rebuilt the module in place');
  assert.equal(p.codecsWasm, wasm, 'the wasm is read from app.asar.unpacked');
  assert.equal(p.icon, path.join(resources, 'icon.png'));
  const view = modelPackView(p.modelPack.dir);
  assert.equal(view.status, 'verified');
  assert.equal(view.sha256, view.expectedSha256);
  assert.match(view.card ?? '', /#/);
  const pack = await loadModelPack(p.modelPack.dir);
  assert.equal(pack.info().name, MODEL_PACK);
});

test('packaged layout: a damaged or missing pack is a clear error, never a silent fallback to a checkout', (t) => {
  const { resources } = simulatedInstall(t);
  const dir = path.join(resources, 'models', 'packs', MODEL_PACK);
  const model = path.join(dir, 'model.onnx');
  const bytes = fs.readFileSync(model);
  bytes[bytes.length >> 1] ^= 0xff;
  fs.writeFileSync(model, bytes);
  const damaged = modelPackView(dir);
  assert.equal(damaged.status, 'failed');
  assert.equal(damaged.error?.code, 'MODEL_CORRUPT');
  assert.match(damaged.error?.message ?? '', /does not match the checksum in manifest\.json/);
  assert.notEqual(damaged.expectedSha256, null);
  assert.match(modelPackProblem(dir) ?? '', /sha256/);
  fs.rmSync(dir, { recursive: true });
  const p = resolveMainPaths({ mainDir: path.join(resources, 'app.asar', 'dist', 'electron'), isPackaged: true, resourcesPath: resources });
  assert.equal(p.modelPack.dir, dir, 'the packaged app looks where the installer puts the pack');
  assert.equal(modelPackView(p.modelPack.dir).error?.code, 'MODEL_MISSING');
});
