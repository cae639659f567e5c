// Accounts and sign-off in the local web mode, as a clinic uses them: the first start asks for an administrator, who
// creates the accounts; a radiologist signs in, corrects a finding and signs; the findings and report lock; a
// technician cannot sign; an amendment with a reason is signed again and the first signed version stays viewable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, datasetsDir, repoRoot, startApp, stopApp, apiCall, apiReply, signInAs, E2E_PASSWORD, E2E_USERS, Worklist } from './fixtures';

const pack = path.join(repoRoot, 'models', 'packs', 'cxr-tb-v1', 'manifest.json');
const tbImage = path.join(datasetsDir, 'tbx11k', 'images', 'tb0037.png');

async function logInViaUi(page: Page, username: string, password: string) {
  await expect(page.getByTestId('login-form')).toBeVisible();
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

test('first start: the station asks for an administrator, who creates a radiologist; sign-in, wrong passwords, lock and unlock', async ({ page }) => {
  const app = await startApp(undefined, { signIn: 'first-run' });
  try {
    // the API answers nothing but the setup until an administrator exists
    expect((await apiReply(app, 'cases:list', {})).ok).toBe(false);
    await page.goto(app.url);
    await expect(page.getByTestId('setup-form')).toBeVisible();
    await page.getByTestId('setup-username').fill('chief');
    await page.getByTestId('setup-name').fill('Chief Admin');
    await page.getByTestId('setup-password').fill('short');
    await page.getByTestId('setup-password2').fill('short');
    await page.getByTestId('setup-submit').click();
    await expect(page.getByTestId('auth-error')).toContainText('at least 8 characters');
    await page.getByTestId('setup-password').fill('chief-password-1');
    await page.getByTestId('setup-password2').fill('chief-password-1');
    await page.getByTestId('setup-submit').click();
    await expect(page.getByTestId('session-user')).toHaveText('Chief Admin');
    await expect(page.getByTestId('session-role')).toHaveText('Administrator');
    await expect(page.getByTestId('worklist-count')).toBeVisible();

    // the administrator creates a radiologist
    await page.getByTestId('manage-users').click();
    await page.getByTestId('new-username').fill('ada');
    await page.getByTestId('new-name').fill('Dr Ada Lovelace');
    await page.getByTestId('new-role').selectOption('radiologist');
    await page.getByTestId('new-password').fill('ada-password-1');
    await page.getByTestId('create-user').click();
    await expect(page.getByTestId('user-row')).toHaveCount(2);
    await page.getByTestId('user-admin-close').click();

    await page.getByTestId('logout-button').click();
    await logInViaUi(page, 'ada', 'not-her-password');
    await expect(page.getByTestId('auth-error')).toContainText('Wrong user name or password');
    await expect(page.getByTestId('auth-error')).toContainText('4 attempts left');
    await logInViaUi(page, 'ada', 'ada-password-1');
    await expect(page.getByTestId('session-user')).toHaveText('Dr Ada Lovelace');
    await expect(page.getByTestId('manage-users')).toHaveCount(0);

    // lock: the work stays, the password opens it again
    await page.getByTestId('lock-button').click();
    await expect(page.getByTestId('lock-form')).toBeVisible();
    expect((await apiReply(app, 'cases:list', {})).ok).toBe(false);
    await page.getByTestId('unlock-password').fill('ada-password-1');
    await page.getByTestId('unlock-submit').click();
    await expect(page.getByTestId('lock-form')).toHaveCount(0);
    await expect(page.getByTestId('session-user')).toHaveText('Dr Ada Lovelace');
  } finally {
    await stopApp(app);
  }
});

test('a radiologist signs; findings and report lock; a technician cannot sign; an amendment keeps the signed version', async ({ page, app }) => {
  test.skip(!fs.existsSync(tbImage), `shared image missing: ${tbImage}`);
  test.setTimeout(180_000);
  const worklist = new Worklist(page);
  const rad = E2E_USERS.radiologist;

  // the fixture signed the station in; the radiologist signs in herself
  await page.goto(app.url);
  await page.getByTestId('logout-button').click();
  await logInViaUi(page, rad.username, E2E_PASSWORD);
  await expect(page.getByTestId('session-user')).toHaveText(rad.displayName);

  await worklist.importFiles([tbImage]);
  if (fs.existsSync(pack)) await expect(page.getByTestId('analysis-status')).toHaveAttribute('data-state', 'idle', { timeout: 90_000 });
  await expect(worklist.rows()).toHaveCount(1);
  const { rows } = await apiCall<{ rows: { caseId: number }[] }>(app, 'cases:list', {});
  const caseId = rows[0].caseId;
  const detail = await apiCall<{ images: { imageId: number; rows: number; columns: number }[] }>(app, 'cases:get', { caseId });
  const { imageId, rows: h, columns: w } = detail.images[0];
  await worklist.open(0);
  await expect(page.getByTestId('signoff-status')).toHaveText('Not signed');

  // correct the findings: draw a box where the radiologist sees a lesion (the canvas editor's box tool)
  const canvasBox = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const s = Math.min(canvasBox.width / w, canvasBox.height / h) * 0.98;
  const at = (x: number, y: number) => ({ x: canvasBox.x + (Math.floor(canvasBox.width) - w * s) / 2 + x * s, y: canvasBox.y + (Math.floor(canvasBox.height) - h * s) / 2 + y * s });
  const drawBox = async (x: number, y: number) => {
    await page.getByTestId('tool-box').click();
    const a = at(x, y);
    const b = at(x + 60, y + 50);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 8 });
    await page.mouse.up();
  };
  await drawBox(Math.round(w * 0.15), Math.round(h * 0.15));
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved');
  // ask a question about the image (the reading dock's question box)
  const openDock = async () => {
    const dock = page.getByTestId('reading-dock');
    await expect(dock).toBeVisible();
    if ((await dock.getAttribute('data-open')) !== 'true') await page.getByTestId('reading-dock-toggle').click();
  };
  await openDock();
  await page.getByTestId('vqa-input').fill('is there tb?');
  await page.getByTestId('vqa-ask').click();
  await expect(page.getByTestId('vqa-answer').first()).toHaveText(/^(yes|no)/i);
  const v1 = await apiCall<{ version: number; findings: { state: string; provenance: { source: string } }[] }>(app, 'annotations:get', { imageId });
  expect(v1.version).toBe(1);

  // ---- a technician sees the case but cannot sign it ----
  await signInAs(app, 'technician', page);
  await expect(page.getByTestId('session-role')).toHaveText('Technician');
  await worklist.open(0);
  await expect(page.getByTestId('sign-button')).toBeDisabled();
  await expect(page.getByTestId('signoff-bar')).toContainText('Only a radiologist can sign');
  const techSign = await apiReply(app, 'accounts:sign', { caseId });
  expect(techSign.ok).toBe(false);
  expect(!techSign.ok && techSign.error.code).toBe('FORBIDDEN');

  // ---- the radiologist signs ----
  await page.getByTestId('logout-button').click();
  await logInViaUi(page, rad.username, E2E_PASSWORD);
  // the test's own calls below act as the radiologist too (each browser, and the test, signs in for itself)
  await signInAs(app, 'radiologist');
  await worklist.open(0);
  await page.getByTestId('sign-button').click();
  // the confirmation says what locks, and warns of AI findings nobody decided on
  const undecided = v1.findings.filter((f) => f.state === 'proposed').length;
  if (undecided > 0) await expect(page.getByTestId('sign-confirm-note')).toContainText('not been accepted or rejected');
  await page.getByTestId('sign-confirm').click();
  await expect(page.getByTestId('signoff-status')).toContainText(`Signed by ${rad.displayName}`);
  await expect(page.getByTestId('signoff-bar')).toHaveAttribute('data-locked', 'true');

  // locked: another box is refused with a clear message, and the store keeps the signed version
  await drawBox(Math.round(w * 0.55), Math.round(h * 0.5));
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', /error|locked/);
  await expect(page.getByTestId('save-status')).toHaveAttribute('title', /signed/i);
  expect((await apiCall<{ version: number }>(app, 'annotations:get', { imageId })).version).toBe(1);
  const refusedSave = await apiReply(app, 'annotations:save', { imageId, baseVersion: 1, findings: [], masks: [] });
  expect(!refusedSave.ok && refusedSave.error.code).toBe('CASE_SIGNED');
  const report = await apiReply<{ version: number; text: string }>(app, 'report:get', { caseId });
  if (report.ok) {
    const refusedReport = await apiReply(app, 'report:save', { caseId, baseVersion: report.value.version, text: `${report.value.text}\nAdded after signing.` });
    expect(!refusedReport.ok && refusedReport.error.code).toBe('CASE_SIGNED');
  }
  // opened again, the findings and the report show read-only
  await page.reload();
  // the case that was open opens again by itself
  await expect(page.getByTestId('viewer')).toBeVisible();
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'locked');
  await openDock();
  await expect(page.getByTestId('report-status')).toContainText('read-only');
  // the worklist shows it signed
  await page.getByTestId('viewer-back').click();
  await expect(worklist.rows().first()).toContainText('Signed');

  // ---- an amendment with a reason, signed again ----
  await worklist.open(0);
  await page.getByTestId('amend-button').click();
  await page.getByTestId('amend-reason').fill('second lesion in the right lower zone was missed');
  await page.getByTestId('amend-submit').click();
  await expect(page.getByTestId('signoff-status')).toContainText('Amendment open: second lesion in the right lower zone was missed');
  await page.reload();
  // the case that was open opens again by itself
  await expect(page.getByTestId('viewer')).toBeVisible();
  await drawBox(Math.round(w * 0.55), Math.round(h * 0.5));
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved');
  expect((await apiCall<{ version: number }>(app, 'annotations:get', { imageId })).version).toBe(2);
  await page.getByTestId('sign-button').click();
  await page.getByTestId('sign-confirm').click();
  await expect(page.getByTestId('signoff-status')).toContainText('(amendment 1)');

  // both signed versions are kept and viewable; the original has one user box, the amendment two
  await page.getByTestId('signed-versions-button').click();
  await expect(page.getByTestId('signed-version-tab')).toHaveCount(2);
  await expect(page.getByTestId('signed-version')).toHaveAttribute('data-sequence', '2');
  await expect(page.getByTestId('signed-version-reason')).toHaveText('second lesion in the right lower zone was missed');
  const amendedCount = await page.getByTestId('signed-version-finding').count();
  await page.getByTestId('signed-version-tab').nth(1).click();
  await expect(page.getByTestId('signed-version')).toHaveAttribute('data-sequence', '1');
  await expect(page.getByTestId('signed-version-finding')).toHaveCount(amendedCount - 1);
  await expect(page.getByTestId('signed-version-reason')).toHaveCount(0);

  // the audit log holds it all, and its chain is intact
  await signInAs(app, 'administrator');
  const history = await apiCall<{ entries: { action: string; actorName: string }[] }>(app, 'accounts:audit', { targetType: 'case', targetId: String(caseId) });
  expect(history.entries.map((e) => e.action)).toEqual(['case.sign_amendment', 'case.amend', 'case.sign']);
  const verdict = await apiCall<{ ok: boolean; entries: number }>(app, 'accounts:verifyAudit', {});
  expect(verdict.ok).toBe(true);
});

test('an image that arrives after sign-off opens a follow-up case, flagged on the worklist and linked both ways', async ({ page, app }) => {
  const { makeDicom, testImage } = await import('../electron/core/imaging/testFixtures');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-e2e-late-'));
  const study = { StudyInstanceUID: '2.25.777001', SeriesInstanceUID: '2.25.777001.1', PatientID: 'LATE1', PatientName: 'LATE^ARRIVAL' };
  const first = path.join(dir, 'first.dcm');
  const late = path.join(dir, 'late.dcm');
  fs.writeFileSync(first, makeDicom({ rows: 128, columns: 128, bitsStored: 12, pixels: testImage(128, 128, 12, 1), attrs: { ...study, SOPInstanceUID: '2.25.777001.1.1' } }));
  fs.writeFileSync(late, makeDicom({ rows: 128, columns: 128, bitsStored: 12, pixels: testImage(128, 128, 12, 2), attrs: { ...study, SOPInstanceUID: '2.25.777001.1.2' } }));
  const worklist = new Worklist(page);
  await page.goto(app.url);
  await worklist.importFiles([first]);
  const { rows } = await apiCall<{ rows: { caseId: number }[] }>(app, 'cases:list', {});
  const signedId = rows[0].caseId;
  await apiCall(app, 'accounts:sign', { caseId: signedId });
  await page.getByTestId('import-results-close').click();

  await worklist.importFiles([late]);
  await expect(worklist.resultRows().last()).toContainText(`Case ${signedId} of this study is signed: opened as its follow-up`);
  await expect(worklist.rows()).toHaveCount(2);
  const badge = page.getByTestId('follow-up-badge');
  await expect(badge).toHaveCount(1);
  await expect(badge).toHaveText(`follow-up of ${signedId}`);
  const signedCase = await apiCall<{ images: unknown[]; followUpCaseIds: number[] }>(app, 'cases:get', { caseId: signedId });
  expect(signedCase.images).toHaveLength(1);
  expect(signedCase.followUpCaseIds).toHaveLength(1);

  await worklist.rows().filter({ has: badge }).dblclick();
  await expect(page.getByTestId('follow-up-banner')).toContainText(`Follow-up of signed case ${signedId}`);
  await expect(page.getByTestId('signoff-status')).toHaveText('Not signed');
  await page.getByTestId('follow-up-banner').getByTestId('case-link').click();
  await expect(page.getByTestId('follow-ups-banner')).toContainText(`case ${signedCase.followUpCaseIds[0]}`);
  await expect(page.getByTestId('signoff-status')).toContainText('Signed by');
});
