// Runs the training code's own tests (Python unittest). They need Debian's python3 with torch, onnx, numpy and
// PIL; where those are missing the tests are reported as skipped, except in CI, where that is a failure.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const candidates = [process.env.CXR_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
const python = candidates.find((p) => spawnSync(p, ['-c', 'import torch, onnx, numpy, PIL'], { stdio: 'ignore' }).status === 0);
if (!python) {
  const msg = `python tests: skipped: no python3 with torch, onnx, numpy and PIL (tried ${candidates.join(', ')}; apt-get install python3-torch python3-onnx python3-numpy python3-pil)`;
  if (process.env.CI) {
    console.error(msg.replace('skipped', 'FAILED'));
    process.exit(1);
  }
  console.log(msg);
  process.exit(0);
}
if (!fs.existsSync('models/training/tests')) {
  console.log('python tests: none');
  process.exit(0);
}
const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'models/training/tests', '-t', '.', '-v'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
