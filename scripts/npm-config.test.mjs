// The project's npm set-up: every npm command runs without a warning about the project's own configuration, and a
// fresh install never runs onnxruntime-node's install script (it only downloads CUDA libraries from the internet).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('npm reads the project without an "Unknown project config" warning', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_config_')));
  const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: root, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), 'cxr-workstation');
  assert.doesNotMatch(r.stderr, /Unknown (project|user) config/);
});

test('allowScripts denies onnxruntime-node its install script, and approves only what must build', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.allowScripts['onnxruntime-node'], false);
  assert.deepEqual(Object.keys(pkg.allowScripts).filter((k) => pkg.allowScripts[k]).sort(), ['better-sqlite3', 'better-sqlite3-multiple-ciphers', 'electron-winstaller', 'esbuild']);
  assert.ok(!fs.existsSync(path.join(root, '.npmrc')) || !/onnxruntime/.test(fs.readFileSync(path.join(root, '.npmrc'), 'utf8')), '.npmrc holds no package-specific keys');
});
