// `npm run bench`: prints medians (and p95) for the workstation's speed targets. Benchmarks, not tests.
import { benchWorklist } from './worklist';
import { benchImport } from './importing';

const only = process.argv[2];
const suites: Record<string, () => Promise<void>> = {
  import: benchImport,
  worklist: benchWorklist,
};
for (const [name, run] of Object.entries(suites)) {
  if (!only || only === name) await run();
}
