// Enforces the layering of ../shared/ARCHITECTURE.md: the contract imports only zod; the renderer imports only the
// contract (and browser packages, never Node); core, the server and the CLI never import Electron.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function importsOf(source) {
  const out = [];
  for (const m of source.matchAll(IMPORT_RE)) out.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  return out;
}

/** Layer of a repository-relative path, or null for files the rules do not cover. */
export function layerOf(rel) {
  const p = rel.split(path.sep).join('/');
  if (p.startsWith('electron/contract/')) return 'contract';
  if (p.startsWith('electron/core/')) return 'core';
  if (p.startsWith('electron/server/')) return 'server';
  if (p.startsWith('electron/cli/')) return 'cli';
  if (p.startsWith('renderer/src/')) return 'renderer';
  return null;
}

/** Violations for one file: [{ file, spec, rule }]. `rel` is relative to the repository root. */
export function checkFile(rel, source) {
  const layer = layerOf(rel);
  // Tests sit beside the code but are not part of its layer: they may use test tools and fixtures.
  if (!layer || /\.test\.(ts|tsx|mjs)$/.test(rel)) return [];
  const problems = [];
  const dir = path.posix.dirname(rel.split(path.sep).join('/'));
  for (const spec of importsOf(source)) {
    const isRelative = spec.startsWith('.');
    const target = isRelative ? path.posix.normalize(path.posix.join(dir, spec)) : null;
    const bad = (rule) => problems.push({ file: rel, spec, rule });
    if (spec === 'electron' || spec.startsWith('electron/')) {
      if (layer !== 'renderer') bad(`${layer} must not import Electron`);
      else bad('the renderer must not import Electron; use the API client');
      continue;
    }
    if (layer === 'contract') {
      if (isRelative ? !target.startsWith('electron/contract') : spec !== 'zod') bad('the contract imports only zod and itself');
    } else if (layer === 'renderer') {
      if (spec.startsWith('node:') || ['fs', 'path', 'os', 'child_process', 'better-sqlite3', 'onnxruntime-node'].includes(spec)) bad('the renderer must not import Node modules');
      if (isRelative && target.startsWith('electron/') && !target.startsWith('electron/contract')) bad('the renderer imports only the contract from electron/');
    } else if (layer === 'core') {
      if (isRelative && /^electron\/(main|preload|server|cli)(\/|$)/.test(target)) bad('core must not import the Electron glue, the server or the CLI');
    }
  }
  return problems;
}

function walk(dir, files = []) {
  if (!fs.existsSync(dir)) return files;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') walk(p, files);
    } else if (/\.(ts|tsx|mts|js|mjs)$/.test(e.name)) files.push(p);
  }
  return files;
}

export function checkRepo(root) {
  const files = [...walk(path.join(root, 'electron')), ...walk(path.join(root, 'renderer', 'src'))];
  return files.flatMap((f) => checkFile(path.relative(root, f), fs.readFileSync(f, 'utf8')));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkRepo(root);
  for (const p of problems) console.error(`${p.file}: imports '${p.spec}': ${p.rule}`);
  if (problems.length) {
    console.error(`${problems.length} layering violation(s)`);
    process.exit(1);
  }
  console.log('layers ok');
}
