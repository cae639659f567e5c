// The reporting calls through the dispatcher every transport uses: the report of an analysed case, a save whose
// author is the person at the station, a stale save refused with its own code, a change announced, and questions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workstation } from '../index';
import { testImageRecord } from '../../../testing/records';
import { tempDbPath } from '../../../testing/index';
import { signIn } from '../../../testing/accounts';
import type { ReportView, VqaAnswer } from '../../../contract/index';


async function ok<T>(p: Promise<{ ok: boolean; value?: unknown; error?: unknown }>): Promise<T> {
  const r = await p;
  assert.equal(r.ok, true, JSON.stringify(r.error));
  return r.value as T;
}

test('report:get, report:save, report:redraft, report:versions and vqa:ask through dispatch', async () => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  try {
    const { imageId, caseId } = ws.store.insertImage(testImageRecord(7, { rows: 100, columns: 100, modality: 'DX', viewPosition: 'AP', sourceFormat: 'dicom', tag: 'rep-handler' }));
    ws.store.saveAnalysis({
      imageId, model: { name: 'cxr-tb', version: '1.0.0', sha256: 'abc', ep: 'cpu' }, tbScore: 88, label: 'tb',
      result: { threshold: 8.95, boxes: [{ x: 60, y: 10, w: 20, h: 15, label: 'ActiveTuberculosis', score: 0.9 }], lungs: { right: [[5, 5], [45, 5], [45, 90], [5, 90]], left: [[55, 5], [95, 5], [95, 90], [55, 90]] } },
    });
    await signIn(ws, 'radiologist', 'ada', 'Dr Ada Reader');
    const changed: { caseId: number; version: number }[] = [];
    const off = ws.on('report:onChanged', (e) => changed.push(e));

    const r0 = await ok<ReportView>(ws.dispatch('report:get', { caseId }));
    assert.equal(r0.source, 'draft');
    assert.match(r0.text, /anteroposterior \(AP\) view/);
    assert.match(r0.text, /One lesion with features of active tuberculosis in the left upper zone\./);

    const r1 = await ok<ReportView>(ws.dispatch('report:save', { caseId, baseVersion: 0, text: `${r0.text}\nSeen by me.`, findingsFingerprint: r0.findingsFingerprint, author: 'mallory' }));
    assert.equal(r1.version, 1);
    assert.equal(r1.author, 'Dr Ada Reader', 'the author comes from the session, never the request');
    assert.deepEqual(changed, [{ caseId, version: 1 }]);

    const stale = await ws.dispatch('report:save', { caseId, baseVersion: 0, text: 'other window' });
    assert.equal(!stale.ok && stale.error.code, 'REPORT_VERSION_STALE');
    const bad = await ws.dispatch('report:save', { caseId, baseVersion: -1, text: 'x' });
    assert.equal(!bad.ok && bad.error.code, 'BAD_REQUEST');
    const missing = await ws.dispatch('report:get', { caseId: 4242 });
    assert.equal(!missing.ok && missing.error.code, 'NOT_FOUND');

    // re-draft when nothing changed still puts the draft back (the reader asked for it)
    const r2 = await ok<ReportView>(ws.dispatch('report:redraft', { caseId, baseVersion: 1 }));
    assert.equal(r2.source, 'draft');
    assert.equal(r2.text, r0.text);
    const versions = await ok<{ versions: { version: number; source: string; author: string }[] }>(ws.dispatch('report:versions', { caseId }));
    assert.deepEqual(versions.versions.map((v) => [v.version, v.source, v.author]), [[2, 'draft', 'Dr Ada Reader'], [1, 'edited', 'Dr Ada Reader']]);
    off();

    const a = await ok<VqaAnswer>(ws.dispatch('vqa:ask', { imageId, question: 'is the left lung affected?' }));
    assert.equal(a.type, 'closed');
    assert.match(a.answer, /^Yes/);
    assert.deepEqual(a.evidence.zones, [{ side: 'left', zone: 'upper' }]);
    const empty = await ws.dispatch('vqa:ask', { imageId, question: '   ' });
    assert.equal(!empty.ok && empty.error.code, 'BAD_REQUEST');
    const noImage = await ws.dispatch('vqa:ask', { imageId: 999, question: 'is there tb' });
    assert.equal(!noImage.ok && noImage.error.code, 'NOT_FOUND');
  } finally {
    await ws.close();
  }
});
