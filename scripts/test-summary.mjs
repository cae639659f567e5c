// The closing lines of `npm test` (scripts/test.mjs): what ran, every skip grouped by its reason, and the verdict. A
// skip whose reason says "missing tool:" fails the run under CI, where every tool the tests use is installed.

/**
 * @param {{ stage: string, name: string, reason: string }[]} skips
 * @param {{ ran: string[], minutes: string, failed: string | null, ci: boolean }} run
 * @returns {{ lines: string[], exitCode: number }}
 */
export function summarize(skips, run) {
  const lines = [`npm test: ${run.ran.join(', ')} (${run.minutes} min in all)`];
  if (skips.length) {
    const byReason = new Map();
    for (const s of skips) {
      const key = `${s.stage}: ${s.reason}`;
      byReason.set(key, [...(byReason.get(key) ?? []), s.name]);
    }
    const count = (stage) => skips.filter((s) => s.stage === stage).length;
    const parts = ['unit', 'python', 'e2e'].filter((s) => count(s)).map((s) => `${count(s)} ${s}`);
    lines.push(`npm test: ${skips.length} test${skips.length === 1 ? '' : 's'} skipped (${parts.join(', ')}):`);
    for (const [reason, names] of byReason) lines.push(`  - ${names.length} × ${reason}${names.length <= 3 ? ` [${names.join('; ')}]` : ''}`);
  } else if (!run.failed) {
    lines.push('npm test: no test skipped');
  }
  if (run.failed) return { lines: [...lines, `npm test: FAILED in the ${run.failed}`], exitCode: 1 };
  const missingTool = skips.filter((s) => s.reason.includes('missing tool:'));
  const n = missingTool.length;
  if (n && run.ci) {
    lines.push(`npm test: FAILED: ${n} test${n === 1 ? '' : 's'} skipped for a missing tool under CI (run scripts/install-system-packages.sh)`);
    return { lines, exitCode: 1 };
  }
  if (n) lines.push(`npm test: passed, but ${n} test${n === 1 ? '' : 's'} did not run for want of a tool: scripts/install-system-packages.sh installs them all`);
  else lines.push(`npm test: passed${skips.length ? ' (none of the skips is for want of a tool)' : ''}`);
  return { lines, exitCode: 0 };
}
