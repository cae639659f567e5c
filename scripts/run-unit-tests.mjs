// Runs every unit test file (`*.test.ts` under electron/, bench/ and renderer/src/ (pure modules only), and
// `*.test.mjs` under scripts/) with node's test runner.
// Node 20's runner takes no glob patterns, so the files are listed here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function find(dir, re, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') find(p, re, out);
    else if (re.test(e.name)) out.push(p);
  }
  return out;
}

const filter = process.argv[2];
const files = [...find('electron', /\.test\.ts$/), ...find('scripts', /\.test\.mjs$/), ...find('bench', /\.test\.ts$/), ...find(path.join('renderer', 'src'), /\.test\.ts$/)]
  .filter((f) => !filter || f.includes(filter))
  .sort();
// With CXR_SKIP_LOG (set by scripts/test.mjs), every skip is also written there for the run's closing summary.
const skipLog = process.env.CXR_SKIP_LOG;
const reporters = skipLog
  ? ['--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${path.resolve('scripts/skip-reporter.mjs')}`, `--test-reporter-destination=${skipLog}`]
  : ['--test-reporter=spec'];
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...reporters, '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
