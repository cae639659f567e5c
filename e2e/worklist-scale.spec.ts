// 50,000 cases on the worklist: the DOM holds only the rows on screen, scrolling to the end shows the last case,
// and sorting and filtering the whole list still answer.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base, expect } from '@playwright/test';
import { repoRoot, startApp, stopApp, type AppServer } from './fixtures';

const N = 50_000;

const test = base.extend<{ big: AppServer }>({
  // Seeding 50,000 cases takes tens of seconds on a busy machine: the fixture has its own time, apart from the test's.
  big: [
    async ({ page }, use) => {
      const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-big-')), 'cases.sqlite');
      const seeded = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench', 'seed-worklist.ts'), db, String(N)], { cwd: repoRoot, encoding: 'utf8' });
      if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
      const app = await startApp(db, { page });
      await use(app);
      await stopApp(app);
    },
    { timeout: 240_000 },
  ],
});

test('a 50,000-case worklist is virtualized and scrolls to its last case', async ({ page, big }) => {
  test.setTimeout(120_000);
  await page.goto(big.url);
  await expect(page.getByTestId('worklist-count')).toContainText('50,000');
  const domRows = await page.getByTestId('worklist-row').count();
  expect(domRows).toBeGreaterThan(5);
  expect(domRows).toBeLessThan(200);

  // Sort by patient ID ascending, then jump to the end: the last case is PID149999.
  const header = page.getByTestId('worklist-header-patientId');
  await header.click();
  if ((await page.getByTestId('worklist').getAttribute('data-sort-dir')) !== 'asc') await header.click();
  await expect(page.getByTestId('worklist-row').first()).toContainText('PID100000');
  await page.getByTestId('worklist-row').first().click();
  await page.keyboard.press('End');
  await expect(page.getByTestId('worklist-row').filter({ hasText: 'PID149999' })).toBeVisible({ timeout: 20_000 });
  expect(await page.getByTestId('worklist-row').count()).toBeLessThan(200);

  // A filter over all 50,000.
  await page.getByTestId('worklist-filter').fill('pid123456');
  await expect(page.getByTestId('worklist-count')).toHaveText(/^1 case/);
  await expect(page.getByTestId('worklist-row')).toHaveCount(1);
});
