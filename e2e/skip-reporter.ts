// A Playwright reporter that appends one JSON line per skipped test ({ stage, name, file, reason }) to the file named by
// CXR_SKIP_LOG, for the closing summary of `npm test` (scripts/test.mjs). Without CXR_SKIP_LOG it does nothing.
import fs from 'node:fs';
import path from 'node:path';
import type { Reporter, TestCase, TestResult } from '@playwright/test/reporter';

export default class SkipReporter implements Reporter {
  onTestEnd(test: TestCase, result: TestResult): void {
    const log = process.env.CXR_SKIP_LOG;
    if (!log || result.status !== 'skipped') return;
    const reason = test.annotations.find((a) => a.type === 'skip')?.description || 'skipped';
    fs.appendFileSync(log, `${JSON.stringify({ stage: 'e2e', name: test.title, file: path.basename(test.location.file), reason })}\n`);
  }
}
