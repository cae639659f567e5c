// The receiver against dcmtk's own tools (echoscu, storescu): images pushed arrive through the import path with
// the sender recorded; unknown callers, wrong called AE titles, non-image classes and broken images are refused
// with the proper DICOM answer, and the receiver keeps running.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CaseStore } from '../store/index';
import { tempDbPath, tempDir, datasetsDir } from '../../testing/index';
import { syntheticDicom } from '../../../bench/synthetic';
import { NetworkService } from './index';
import { freePort } from './testOrthanc';
import { brokenImage, srInstance } from './testFixtures';
import { missingTools } from '../../testing/tools';
import { makeDicom, testImage } from '../imaging/testFixtures';
import { createUser, loadSignature, signCase, signoffState } from '../accounts/index';


/** Run a dcmtk tool asynchronously (the receiver lives in this process: a sync call would block it). */
function dcmtk(tool: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(tool, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

const dir = tempDir('cxr-rx-');
const stores: CaseStore[] = [];
const services: NetworkService[] = [];
after(async () => {
  for (const s of services) await s.close();
  for (const s of stores) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function station(whitelist: string[] = []) {
  const store = CaseStore.open(tempDbPath());
  stores.push(store);
  const events = { changed: [] as number[], kicks: 0 };
  const ns = new NetworkService(store, { casesChanged: (ids) => events.changed.push(...ids), kickAnalysis: () => events.kicks++ });
  services.push(ns);
  await ns.start();
  const port = await freePort();
  await ns.setSettings({ receiver: { enabled: true, aeTitle: 'CXRSTATION', port, whitelist }, autoSendOnSign: false });
  assert.equal(ns.receiverStatus().running, true, JSON.stringify(ns.receiverStatus()));
  return { store, ns, port, events };
}

test('C-ECHO answers; pushed images are imported, sender and time recorded, worklist told and analysis kicked', { skip: missingTools('storescu', 'echoscu') }, async () => {
  const { store, ns, port, events } = await station();
  const echo = await dcmtk('echoscu', ['-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port)]);
  assert.equal(echo.code, 0, echo.out);

  const a = path.join(dir, 'a.dcm');
  const b = path.join(dir, 'b.dcm');
  fs.writeFileSync(a, syntheticDicom(512, 400, 501));
  fs.writeFileSync(b, syntheticDicom(512, 400, 502));
  const jpeg = path.join(datasetsDir, 'dicom_samples/siim_cr_chest_pa_jpegbaseline.dcm');
  const files = fs.existsSync(jpeg) ? [a, b, jpeg] : [a, b];
  // -xy: also propose JPEG baseline, so the compressed file travels (and is stored) as the modality made it.
  const sent = await dcmtk('storescu', ['-xy', '-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), ...files]);
  assert.equal(sent.code, 0, sent.out);
  await ns.receiverIdle();
  // The analysis queue waits for a burst to end: quiet resolves once nothing arrived for a moment (5 s at most).
  const waited = performance.now();
  await ns.receiverQuiet();
  assert.ok(performance.now() - waited < 6000);
  const quietAgain = performance.now();
  await ns.receiverQuiet();
  assert.ok(performance.now() - quietAgain < 250, 'a quiet receiver does not hold background work up');
  assert.equal(store.countCases(), files.length);
  const received = ns.repo.listReceived(10);
  assert.equal(received.length, files.length);
  for (const r of received) {
    assert.equal(r.outcome, 'imported');
    assert.equal(r.callingAe, 'XRAYROOM1');
    assert.match(r.peerAddress ?? '', /127\.0\.0\.1/);
    assert.ok(Date.now() - Date.parse(r.receivedAt) < 60_000);
    assert.ok(r.caseId !== null);
  }
  assert.equal(new Set(events.changed).size, files.length);
  assert.ok(events.kicks >= files.length);
  if (files.length === 3) {
    const img = store.getCase(received[0].caseId!).images[0];
    assert.equal(store.getImage(img.imageId).transferSyntax, '1.2.840.10008.1.2.4.50');
  }

  // The same image again: the sender gets Success (the station holds it), the log says duplicate, nothing added.
  const again = await dcmtk('storescu', ['-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), a]);
  assert.equal(again.code, 0, again.out);
  await ns.receiverIdle();
  assert.equal(store.countCases(), files.length);
  assert.equal(ns.repo.listReceived(1)[0].outcome, 'duplicate');
});

test('refuses unknown calling AE titles, a wrong called AE title, non-image classes and broken images, and keeps running', { skip: missingTools('storescu', 'echoscu') }, async () => {
  const { store, ns, port } = await station(['XRAYROOM1']);
  const stranger = await dcmtk('echoscu', ['-aet', 'STRANGER', '-aec', 'CXRSTATION', '127.0.0.1', String(port)]);
  assert.notEqual(stranger.code, 0);
  assert.match(stranger.out, /Rejected|reject/i);
  assert.match(ns.repo.listReceived(1)[0].message ?? '', /STRANGER is not on the whitelist/);

  const wrongCalled = await dcmtk('echoscu', ['-aet', 'XRAYROOM1', '-aec', 'SOMEONEELSE', '127.0.0.1', String(port)]);
  assert.notEqual(wrongCalled.code, 0);
  assert.match(wrongCalled.out, /Rejected|reject/i);

  // An SR is not an image this station reads: its presentation context is rejected (abstract syntax not supported).
  const sr = path.join(dir, 'sr.dcm');
  fs.writeFileSync(sr, srInstance({ studyInstanceUid: '2.25.777', patientId: 'P777', text: 'not an image' }).bytes);
  const srSent = await dcmtk('storescu', ['-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), sr]);
  assert.notEqual(srSent.code, 0);
  assert.match(srSent.out, /presentation context|No presentation/i);

  // An image class whose pixel data is broken: C-STORE answered with a failure status (0xC000) and its reason.
  const broken = path.join(dir, 'broken.dcm');
  const good = syntheticDicom(256, 256, 601);
  fs.writeFileSync(broken, brokenImage(602));
  const brokenSent = await dcmtk('storescu', ['-v', '-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), broken]);
  assert.match(brokenSent.out, /Received Store Response \(Error: CannotUnderstand\)/);
  const refused = ns.repo.listReceived(1)[0];
  assert.equal(refused.outcome, 'refused');
  assert.match(refused.message ?? '', /^DICOM_/);
  await ns.receiverIdle();
  assert.equal(store.countCases(), 0);

  // Still running: the whitelisted sender's image goes in.
  const ok = path.join(dir, 'ok.dcm');
  fs.writeFileSync(ok, good);
  const okSent = await dcmtk('storescu', ['-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), ok]);
  assert.equal(okSent.code, 0, okSent.out);
  await ns.receiverIdle();
  assert.equal(store.countCases(), 1);
  assert.equal(ns.receiverStatus().running, true);
});

test('a taken port is reported as the receiver status, not thrown; settings are validated and persisted', async () => {
  const { ns, port } = await station();
  const store2 = CaseStore.open(tempDbPath());
  stores.push(store2);
  const other = new NetworkService(store2, { casesChanged: () => {}, kickAnalysis: () => {} });
  services.push(other);
  await other.setSettings({ receiver: { enabled: true, aeTitle: 'SECOND', port, whitelist: [] }, autoSendOnSign: false });
  const st = other.receiverStatus();
  assert.equal(st.running, false);
  assert.equal(st.error?.code, 'NETWORK_PORT_IN_USE');
  assert.match(st.error?.message ?? '', new RegExp(`Port ${port} is in use`));
  assert.equal(ns.receiverStatus().running, true);
  assert.deepEqual(other.settings().receiver, { enabled: true, aeTitle: 'SECOND', port, whitelist: [] });
  await assert.rejects(other.setSettings({ receiver: { enabled: true, aeTitle: 'A\\B', port: 104, whitelist: [] }, autoSendOnSign: false }), /NETWORK_SETTINGS_INVALID|backslash/);
  await assert.rejects(other.setSettings({ receiver: { enabled: true, aeTitle: 'WAYTOOLONGAETITLE1', port: 104, whitelist: [] }, autoSendOnSign: false }), /16 characters/);
});

test('an image pushed for a study whose case is signed opens a follow-up case; the signed case and its signature are untouched', { skip: missingTools('storescu', 'echoscu') }, async () => {
  const { store, port, ns } = await station();
  const study = { StudyInstanceUID: '2.25.4242', PatientID: 'P4242', PatientName: 'LATE^ARRIVAL', SeriesInstanceUID: '2.25.4242.1' };
  const first = path.join(dir, 'first.dcm');
  const second = path.join(dir, 'second.dcm');
  fs.writeFileSync(first, makeDicom({ rows: 64, columns: 64, bitsStored: 12, pixels: testImage(64, 64, 12, 1), attrs: { ...study, SOPInstanceUID: '2.25.4242.1.1' } }));
  fs.writeFileSync(second, makeDicom({ rows: 64, columns: 64, bitsStored: 12, pixels: testImage(64, 64, 12, 2), attrs: { ...study, SOPInstanceUID: '2.25.4242.1.2' } }));
  assert.equal((await dcmtk('storescu', ['-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), first])).code, 0);
  await ns.receiverIdle();
  const caseId = ns.repo.listReceived(1)[0].caseId!;
  const admin = await createUser(store.db, { username: 'admin', displayName: 'Admin', role: 'administrator', password: 'admin-pass-1' }, { userId: null, username: 'admin' }, { firstAdministrator: true });
  const rad = await createUser(store.db, { username: 'rad', displayName: 'Dr Rad', role: 'radiologist', password: 'rad-pass-123' }, { userId: admin.id, username: 'admin' });
  const signedState = signCase(store.db, caseId, { userId: rad.id, username: 'rad', displayName: 'Dr Rad', role: 'radiologist' });

  const sent = await dcmtk('storescu', ['-aet', 'XRAYROOM1', '-aec', 'CXRSTATION', '127.0.0.1', String(port), second]);
  assert.equal(sent.code, 0, sent.out);
  await ns.receiverIdle();
  const rec = ns.repo.listReceived(1)[0];
  assert.equal(rec.outcome, 'imported');
  assert.notEqual(rec.caseId, caseId);
  assert.equal(store.getCase(rec.caseId!).followsCaseId, caseId);
  assert.equal(store.getCase(caseId).images.length, 1, 'the signed case holds what was signed');
  const after = signoffState(store.db, caseId);
  assert.deepEqual([after.status, after.locked, after.signatures.length, after.signatures[0].contentSha256], ['signed', true, 1, signedState.signatures[0].contentSha256]);
  assert.equal(loadSignature(store.db, after.signatures[0].id).intact, true);
});
