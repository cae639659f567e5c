// Settings > Backup and data protection, as a clinic's administrator uses it: see how the data is protected, set the
// recovery passphrase, back up now, and restore a backup (confirmed, then finished by a restart of the station).
import { test, expect, startApp, stopApp, apiCall, datasetsDir } from './fixtures';
import path from 'node:path';
import fs from 'node:fs';

const sample = path.join(datasetsDir, 'dicom_samples', 'nema_cr_mono1_10_chest_no_part10_header.dcm');

test('back up now, then restore it after more work: the station restarts onto the backup', async ({ page }) => {
  test.skip(!fs.existsSync(sample), 'shared DICOM samples not found');
  let app = await startApp(undefined, { signIn: 'administrator', page });
  try {
    await page.goto(app.url);
    await page.getByTestId('import-files-input').setInputFiles([sample]);
    await expect(page.getByTestId('worklist-row')).toHaveCount(1, { timeout: 60_000 });

    await page.getByTestId('settings-button').click();
    await page.getByTestId('settings-tab-backup').click();
    const panel = page.getByTestId('backup-settings');
    await expect(panel.getByTestId('protection')).toContainText('encrypted');
    await expect(panel.getByTestId('protection')).toContainText('No recovery passphrase is set');
    await panel.getByTestId('passphrase').fill('clinic recovery phrase');
    await panel.getByTestId('passphrase-repeat').fill('clinic recovery phrase');
    await panel.getByTestId('passphrase-save').click();
    await expect(panel.getByTestId('protection')).toContainText('Recovery passphrase set');

    await panel.getByTestId('backup-now').click();
    await expect(panel.getByTestId('backup-message')).toContainText('Backup written', { timeout: 60_000 });
    await expect(panel.getByTestId('backup-message')).toContainText('1 cases, 1 images');
    await expect(panel.getByTestId('backup-item')).toHaveCount(1);
    await page.getByTestId('settings-close').click();

    // more work after the backup
    await page.getByTestId('import-files-input').setInputFiles([path.join(datasetsDir, 'dicom_samples', 'siim_cr_chest_pa_jpegbaseline.dcm')]);
    await expect(page.getByTestId('worklist-row')).toHaveCount(2, { timeout: 60_000 });

    await page.getByTestId('settings-button').click();
    await page.getByTestId('settings-tab-backup').click();
    await panel.getByTestId('restore').first().click();
    await expect(panel.getByTestId('restore-confirm')).toContainText('Replace every case on this station');
    await panel.getByTestId('restore-confirm-yes').click();
    await expect(panel).toHaveAttribute('data-state', 'restart-required', { timeout: 60_000 });
    await expect(panel).toContainText('Restart CXR Workstation now');
  } finally {
    await stopApp(app);
  }
  // the restart: the same data folder, the backup's single case
  app = await startApp(app.dbPath, { signIn: 'administrator', page });
  try {
    await page.goto(app.url);
    await expect(page.getByTestId('worklist-row')).toHaveCount(1, { timeout: 60_000 });
    const cases = await apiCall<{ total: number }>(app, 'cases:list', {});
    expect(cases.total).toBe(1);
  } finally {
    await stopApp(app);
  }
});

test('a damaged backup file is not offered for restore', async ({ page }) => {
  const app = await startApp(undefined, { signIn: 'administrator', page });
  try {
    const folder = path.join(path.dirname(app.dbPath), 'backups');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'cxr-backup-broken.cxrbak'), 'CXRBAK01 cut short');
    await page.goto(app.url);
    await page.getByTestId('settings-button').click();
    await page.getByTestId('settings-tab-backup').click();
    const panel = page.getByTestId('backup-settings');
    await expect(panel).toContainText('No backups in');
    await expect(panel.getByTestId('backup-item')).toHaveCount(0);
  } finally {
    await stopApp(app);
  }
});
