// Runs the training code's own tests (Python unittest). They need Debian's python3 with torch, onnx, numpy and
// PIL; where those are missing the tests are reported as skipped, except in CI, where that is a failure.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const candidates = [process.env.CXR_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
const python = candidates.find((p) => spawnSync(p, ['-c', 'import torch, onnx, numpy, PIL'], { stdio: 'ignore' }).status === 0);
if (!python) {
  const reason = `missing tool: python3 with torch, onnx, numpy and PIL (tried ${candidates.join(', ')}; Debian packages python3-torch python3-onnx python3-numpy python3-pil; scripts/install-system-packages.sh installs them)`;
  if (process.env.CXR_SKIP_LOG) fs.appendFileSync(process.env.CXR_SKIP_LOG, `${JSON.stringify({ stage: 'python', name: 'the training code\'s tests', file: 'models/training/tests', reason })}\n`);
  if (process.env.CI === 'true' && !process.env.CXR_SKIP_LOG) {
    console.error(`python tests: FAILED: ${reason}`);
    process.exit(1);
  }
  console.log(`python tests: skipped: ${reason}`);
  process.exit(0);
}
if (!fs.existsSync('models/training/tests')) {
  console.log('python tests: none');
  process.exit(0);
}
const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'models/training/tests', '-t', '.', '-v'], { stdio: ['inherit', 'inherit', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
// unittest reports on stderr, one line per test: pass it on, and note its skips for npm test's closing summary
process.stderr.write(r.stderr ?? '');
if (process.env.CXR_SKIP_LOG) {
  for (const m of (r.stderr ?? '').matchAll(/^(\w+) \(([\w.]+)\)[^\n]*\.\.\. skipped '(.*)'$/gm)) {
    fs.appendFileSync(process.env.CXR_SKIP_LOG, `${JSON.stringify({ stage: 'python', name: m[1], file: m[2], reason: m[3] })}\n`);
  }
}
process.exit(r.status ?? 1);
