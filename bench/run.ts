// `npm run bench`: prints medians (and p95) for the workstation's speed targets. Benchmarks, not tests.
import { benchWorklist } from './worklist';
import { benchImport } from './importing';
import { benchViewer } from './viewer';
import { benchInference } from '../electron/core/inference/bench';
import { benchModel } from './model';
import { benchEditing } from './editing';
import { benchEncryption } from './encryption';
import { benchExports } from './exports';
import { benchReporting } from './reporting';
import { benchNetwork } from './network';

const only = process.argv[2];
const suites: Record<string, () => Promise<void>> = {
  import: benchImport,
  worklist: benchWorklist,
  viewer: benchViewer,
  inference: async () => {
    await benchInference({ log: (s) => console.log(s) });
  },
  model: benchModel,
  editing: benchEditing,
  encryption: benchEncryption,
  exports: benchExports,
  reporting: benchReporting,
  network: benchNetwork,
};
for (const [name, run] of Object.entries(suites)) {
  if (!only || only === name) await run();
}
