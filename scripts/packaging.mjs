// Helpers shared by `npm run dist` (scripts/dist.mjs) and the packaging tests: what the electron-builder
// configuration puts where, evaluated the way electron-builder does, and the release check of the model pack.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

// The matcher electron-builder itself uses (its own dependency), so that the tests read patterns as it does.
const require = createRequire(import.meta.url);
const { minimatch } = createRequire(require.resolve('app-builder-lib'))('minimatch');

/**
 * Whether electron-builder's `files` patterns keep `rel` (a path relative to the app folder, '/' separators).
 * Patterns apply in order, as in electron-builder's FileMatcher: a positive pattern adds, a negated one removes.
 * Production dependencies under node_modules are collected by electron-builder itself, so they start included and
 * only the negated patterns can drop them.
 */
export function keptByFiles(rel, patterns) {
  let kept = rel.startsWith('node_modules/');
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (kept && minimatch(rel, p.slice(1), { dot: true })) kept = false;
    } else if (!kept && minimatch(rel, p, { dot: true })) {
      kept = true;
    }
  }
  return kept;
}

/**
 * The `files` patterns in force for a build ('win' | 'linux', x64), with electron-builder's ${platform} and ${arch}
 * macros expanded as it expands them (platform: win32, linux).
 */
export function filesFor(config, platform, arch = 'x64') {
  const nodePlatform = platform === 'win' ? 'win32' : platform;
  return (config.files ?? []).map((p) => p.replaceAll('${platform}', nodePlatform).replaceAll('${arch}', arch));
}

/** Whether an asarUnpack pattern list puts `rel` (inside app.asar) in app.asar.unpacked. */
export function unpacked(rel, asarUnpack) {
  return asarUnpack.some((p) => minimatch(rel, p, { dot: true }));
}

/**
 * Copy the configuration's extraResources into `resourcesDir` the way electron-builder does (from, to, filter),
 * for the simulated packaged layout in the tests. Returns the files copied, relative to resourcesDir.
 */
export function stageExtraResources(config, repoRoot, resourcesDir) {
  const copied = [];
  for (const r of config.extraResources ?? []) {
    const from = path.join(repoRoot, r.from);
    const to = path.join(resourcesDir, r.to ?? r.from);
    if (fs.statSync(from).isDirectory()) {
      const walk = (dir) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          const abs = path.join(dir, e.name);
          if (e.isDirectory()) walk(abs);
          else {
            const rel = path.relative(from, abs).split(path.sep).join('/');
            if (r.filter && !r.filter.some((f) => minimatch(rel, f, { dot: true }))) continue;
            fs.mkdirSync(path.join(to, path.dirname(rel)), { recursive: true });
            fs.copyFileSync(abs, path.join(to, rel));
            copied.push(path.relative(resourcesDir, path.join(to, rel)).split(path.sep).join('/'));
          }
        }
      };
      walk(from);
    } else {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
      copied.push(path.relative(resourcesDir, to).split(path.sep).join('/'));
    }
  }
  return copied;
}

/**
 * The release check of a model pack folder: manifest readable, model file present and matching its sha256.
 * Returns null when it is good, else the reason (an installer must never ship a pack the app would refuse).
 */
export function modelPackProblem(dir) {
  const manifestPath = path.join(dir, 'manifest.json');
  let m;
  try {
    m = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    return `${manifestPath} cannot be read: ${e.message}`;
  }
  if (typeof m.model_file !== 'string' || typeof m.model_sha256 !== 'string') return `${manifestPath} names no model_file and model_sha256`;
  const model = path.join(dir, m.model_file);
  if (!fs.existsSync(model)) return `${model} is missing`;
  const sha = crypto.createHash('sha256').update(fs.readFileSync(model)).digest('hex');
  if (sha !== m.model_sha256.toLowerCase()) return `${model} has sha256 ${sha}, the manifest says ${m.model_sha256}`;
  return null;
}
