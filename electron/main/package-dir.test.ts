// A real electron-builder run (`--linux dir`) with this repository's configuration, checked file by file. The
// Electron binary cannot be downloaded here, so a stand-in Electron folder is given as electronDist (what
// CXR_ELECTRON_DIST does on a build machine), the fuses (which patch the real binary) and the native rebuild (which
// needs Electron's headers) are left out; everything else is the packer's own output: the asar archive, what is
// unpacked beside it, and the extra resources. About 30 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { builtinModules, createRequire } from 'node:module';
import { build as esbuild } from 'esbuild';
import { repoRoot, tempDir } from '../testing/index';
import { resolveMainPaths } from './paths';
import { verifyPackFiles } from '../core/inference/index';
// @ts-expect-error plain ESM configuration without type declarations
import { createConfig, MODEL_PACK, MODEL_PACK_FILES } from '../../build/electron-builder.mjs';

const require = createRequire(import.meta.url);

/** A project folder like the checkout after `npm run build`, with the main process built from the current sources. */
async function stageProject(): Promise<string> {
  const proj = tempDir('cxr-pack-project-');
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(proj, 'package.json'));
  fs.copyFileSync(path.join(repoRoot, 'SECURITY.md'), path.join(proj, 'SECURITY.md'));
  for (const d of ['node_modules', 'models', 'build']) fs.symlinkSync(path.join(repoRoot, d), path.join(proj, d), 'dir');
  const common = { bundle: true, platform: 'node' as const, target: 'node22', logLevel: 'warning' as const };
  await esbuild({ ...common, entryPoints: [path.join(repoRoot, 'electron/main/index.ts')], outfile: path.join(proj, 'dist/electron/main.mjs'), format: 'esm', packages: 'external' });
  await esbuild({ ...common, entryPoints: [path.join(repoRoot, 'electron/preload/index.ts')], outfile: path.join(proj, 'dist/electron/preload.cjs'), format: 'cjs', external: ['electron'] });
  fs.mkdirSync(path.join(proj, 'dist/renderer/assets'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'renderer/index.html'), path.join(proj, 'dist/renderer/index.html'));
  fs.writeFileSync(path.join(proj, 'dist/renderer/assets/index.js.map'), '{}');
  return proj;
}

test('electron-builder --linux dir lays the app out as the main process expects', { timeout: 240_000 }, async (t) => {
  const proj = await stageProject();
  const fakeElectron = tempDir('cxr-electron-dist-');
  fs.writeFileSync(path.join(fakeElectron, 'electron'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  fs.writeFileSync(path.join(fakeElectron, 'version'), require('electron/package.json').version);
  const out = tempDir('cxr-pack-out-');
  t.after(() => {
    for (const d of [proj, fakeElectron, out]) fs.rmSync(d, { recursive: true, force: true });
  });
  const config = { ...createConfig({ CXR_ELECTRON_DIST: fakeElectron }), npmRebuild: false, directories: { output: out, buildResources: 'build' } };
  delete (config as { electronFuses?: unknown }).electronFuses;
  const { build, Platform, Arch } = require('electron-builder');
  await build({ projectDir: proj, config, targets: Platform.LINUX.createTarget('dir', Arch.x64), publish: 'never' });

  const app = path.join(out, 'linux-unpacked');
  const resources = path.join(app, 'resources');
  assert.ok(fs.existsSync(path.join(app, 'cxr-workstation')), 'the executable is named cxr-workstation');

  // The model pack: exactly the files the app reads, intact.
  const packDir = path.join(resources, 'models', 'packs', MODEL_PACK);
  assert.deepEqual(fs.readdirSync(packDir).sort(), [...MODEL_PACK_FILES].sort());
  assert.equal(verifyPackFiles(packDir).name, MODEL_PACK);
  assert.ok(fs.existsSync(path.join(resources, 'icon.png')));
  assert.ok(fs.existsSync(path.join(resources, 'SECURITY.md')));

  // app.asar: the built app and the production dependencies, nothing else of the checkout.
  const asar = require('@electron/asar');
  const entries: string[] = asar.listPackage(path.join(resources, 'app.asar')).map((e: string) => e.split(path.sep).join('/'));
  const own = entries.filter((e) => !e.startsWith('/node_modules'));
  assert.deepEqual(own.filter((e) => /\.[a-z]+$/.test(e)).sort(), ['/dist/electron/main.mjs', '/dist/electron/preload.cjs', '/dist/renderer/index.html', '/package.json']);

  // Every package the main process imports is in the archive (a production dependency, not a devDependency).
  const main = asar.extractFile(path.join(resources, 'app.asar'), 'dist/electron/main.mjs').toString('utf8');
  const specs = [...main.matchAll(/^\s*import\s[^;]*?from\s*["']([^"']+)["']/gm), ...main.matchAll(/^\s*import\s*["']([^"']+)["']/gm), ...main.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
  const imported = new Set(specs.filter((s) => !s.startsWith('.') && !s.startsWith('/')));
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const packaged = new Set(entries.filter((e) => /^\/node_modules\/(@[^/]+\/)?[^/]+$/.test(e)).map((e) => e.slice('/node_modules/'.length)));
  assert.ok(imported.size >= 5, [...imported].join(', '));
  for (const spec of imported) {
    if (builtins.has(spec) || spec === 'electron') continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    assert.ok(packaged.has(name), `main.mjs imports ${spec}, which is not packaged (is it a devDependency?)`);
  }

  // Native code and the codecs' wasm live unpacked; only Linux x64 binaries ship.
  const unpacked = path.join(resources, 'app.asar.unpacked', 'node_modules');
  const files: string[] = [];
  const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.relative(unpacked, path.join(d, e.name)).split(path.sep).join('/'))));
  walk(unpacked);
  for (const f of ['better-sqlite3-multiple-ciphers/build/Release/better_sqlite3.node', 'onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1', 'dcmjs-codecs/build/dcmjs-native-codecs.wasm']) {
    assert.ok(files.includes(f), `${f} is unpacked`);
  }
  assert.deepEqual(files.filter((f) => /win32|darwin|arm64|\.dll$|\.dylib$|test_extension|\/deps\/|\/src\/.*\.(c|cpp|h)$/.test(f)), []);
  assert.ok(!entries.some((e) => e.endsWith('.map')), 'no source maps');

  // The main process, started from this layout, finds its pack and its wasm.
  const p = resolveMainPaths({ mainDir: path.join(resources, 'app.asar', 'dist', 'electron'), isPackaged: true, resourcesPath: resources });
  assert.equal(p.modelPack.dir, packDir);
  assert.equal(p.codecsWasm, path.join(unpacked, 'dcmjs-codecs', 'build', 'dcmjs-native-codecs.wasm'));
});
