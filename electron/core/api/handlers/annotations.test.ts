// The annotations calls through the dispatcher every transport uses: a save and a reload give back what was saved,
// the author is the person at the station whatever the request says, a stale base version is refused and reported
// with its own code, and every save is announced.
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { Workstation } from '../index';
import { testImageRecord } from '../../../testing/records';
import { tempDbPath } from '../../../testing/index';
import { listAudit } from '../../accounts/audit';
import { signIn } from '../../../testing/accounts';
import type { AnnotationSaved, AnnotationStateView } from '../../../contract/index';
import { brushStroke, fillPolygon, packBits, unpackBits } from '../../../../renderer/src/editor/maskDiff';
import { maskPatch } from '../../../../renderer/src/editor/session';
import { decodeWire, encodeWire } from '../../../contract/wire';


const aiResult = {
  boxes: [{ x: 10, y: 12, w: 30, h: 20, label: 'ActiveTuberculosis', score: 0.9 }],
  lungs: { right: [[5, 5], [45, 5], [45, 90], [5, 90]], left: [[55, 5], [95, 5], [95, 90], [55, 90]] },
};

async function ok<T>(p: Promise<{ ok: boolean; value?: unknown; error?: unknown }>): Promise<T> {
  const r = await p;
  assert.equal(r.ok, true, JSON.stringify(r.error));
  return r.value as T;
}

test('annotations:save and annotations:get round trip through dispatch; the author is the actor; stale saves are refused', async () => {
  const ws = new Workstation({ dbPath: tempDbPath(), transport: 'http' });
  try {
    const { imageId, caseId } = ws.store.insertImage(testImageRecord(1, { rows: 100, columns: 100, tag: 'handler' }));
    ws.store.saveAnalysis({ imageId, model: { name: 'cxr-tb', version: '1.0.0', sha256: 'abc', ep: 'cpu' }, tbScore: 88, label: 'tb', result: aiResult });
    await signIn(ws, 'radiologist', 'ada', 'Dr Ada Reader');
    const events: AnnotationSaved[] = [];
    const off = ws.on('annotations:onSaved', (e) => events.push(e));

    const v0 = await ok<AnnotationStateView>(ws.dispatch('annotations:get', { imageId }));
    assert.equal(v0.version, 0);
    assert.equal(v0.caseId, caseId);
    assert.equal(v0.locked, null);
    assert.deepEqual(v0.findings.map((f) => [f.id, f.state, f.provenance.source]), [[`ai-${v0.analysisId}-0`, 'proposed', 'ai']]);
    assert.deepEqual(v0.aiLungs, aiResult.lungs);

    // The reader moves the AI box, adds one and paints a lung mask; the request claims another author.
    const mask = { width: 100, height: 100, bits: new Uint8Array(100 * 100) };
    fillPolygon(mask, aiResult.lungs.right as [number, number][], 1);
    brushStroke(mask, [[50, 50]], 6, 1);
    const moved = { ...v0.findings[0], x: 14, state: 'edited' as const };
    const added = { id: 'u-1', kind: 'box' as const, x: 60, y: 60, w: 10, h: 12, label: 'ObsoletePulmonaryTuberculosis', provenance: { source: 'user' as const, author: 'mallory' }, state: 'added' as const };
    const request = {
      imageId,
      baseVersion: 0,
      author: 'mallory',
      findings: [moved, added],
      masks: [{ id: 'right_lung', label: 'right_lung', source: 'ai', width: 100, height: 100, packed: packBits(mask.bits) }],
    };
    const saved = await ok<AnnotationSaved>(ws.dispatch('annotations:save', request));
    assert.equal(saved.version, 1);
    assert.equal(saved.author, 'Dr Ada Reader', 'the author comes from the session, never the request');
    assert.equal(saved.caseId, caseId);
    const { findings: returned, ...announced } = saved as AnnotationSaved & { findings: AnnotationStateView['findings'] };
    assert.deepEqual(events, [announced]);

    const v1 = await ok<AnnotationStateView>(ws.dispatch('annotations:get', { imageId }));
    assert.equal(v1.version, 1);
    assert.equal(v1.author, 'Dr Ada Reader');
    assert.deepEqual(returned, v1.findings, 'the save answers with the findings as stored');
    assert.deepEqual(
      v1.findings.map((f) => [f.id, f.state, f.provenance.source, f.provenance.author ?? null, f.provenance.changedBy, f.provenance.changedAt === saved.savedAt]),
      [
        [moved.id, 'edited', 'ai', null, 'Dr Ada Reader', true],
        ['u-1', 'added', 'user', 'Dr Ada Reader', 'Dr Ada Reader', true],
      ],
      'who changed each finding, and when, is recorded by the station',
    );
    assert.deepEqual(v1.findings.map((f) => ({ ...f, provenance: { source: f.provenance.source, model: f.provenance.model } })), [moved, added].map((f) => ({ ...f, provenance: { source: f.provenance.source, model: (f.provenance as { model?: unknown }).model } })));
    assert.equal(v1.findings[0].aiOriginal?.x, 10, 'the AI original is kept beside the edit');
    const audited = listAudit(ws.store.db, { targetType: 'image', targetId: imageId }).filter((e) => e.action === 'annotations.save');
    assert.deepEqual(audited.map((e) => [e.actorName, e.details.version, e.details.caseId]), [['ada', 1, caseId]], 'each save is in the audit log, with who');
    assert.deepEqual(unpackBits(v1.masks[0].packed, 100 * 100), mask.bits);

    // A box-only edit keeps the mask without sending its pixels.
    const v2 = await ok<AnnotationSaved>(ws.dispatch('annotations:save', { imageId, baseVersion: 1, findings: [moved], masks: [{ id: 'right_lung', keep: true }] }));
    assert.equal(v2.masksWritten, 0);
    const after2 = await ok<AnnotationStateView>(ws.dispatch('annotations:get', { imageId }));
    assert.equal(after2.findings[0].provenance.changedAt, saved.savedAt, 'an unchanged finding keeps when it was last changed');

    // A second window still on version 1 is refused with a code the editor can show, and nothing is written.
    const stale = await ws.dispatch('annotations:save', { imageId, baseVersion: 1, findings: [], masks: [] });
    assert.equal(stale.ok, false);
    assert.equal(!stale.ok && stale.error.code, 'ANNOTATION_VERSION_STALE');
    assert.match(!stale.ok ? stale.error.message : '', /version 2 saved by Dr Ada Reader/);
    const versions = await ok<{ versions: { version: number; author: string }[] }>(ws.dispatch('annotations:versions', { imageId }));
    assert.deepEqual(versions.versions.map((v) => [v.version, v.author]), [[2, 'Dr Ada Reader'], [1, 'Dr Ada Reader']]);
    assert.equal(events.length, 2);

    // A mask may come deflated (as the editor sends it): stored as sent, read back as packed bits.
    brushStroke(mask, [[20, 70]], 5, 1);
    const v3 = await ok<AnnotationSaved>(
      ws.dispatch('annotations:save', { imageId, baseVersion: 2, findings: [moved], masks: [{ id: 'right_lung', label: 'right_lung', source: 'ai', width: 100, height: 100, deflated: deflateSync(packBits(mask.bits)) }] }),
    );
    assert.equal(v3.version, 3);
    assert.deepEqual(unpackBits((await ok<AnnotationStateView>(ws.dispatch('annotations:get', { imageId }))).masks[0].packed, 100 * 100), mask.bits);
    // A deflated stream that inflates past the image's mask size, or is not deflate at all, is refused.
    for (const deflated of [deflateSync(new Uint8Array(100 * 100)), new Uint8Array([1, 2, 3, 4])]) {
      const r = await ws.dispatch('annotations:save', { imageId, baseVersion: 3, findings: [], masks: [{ id: 'right_lung', label: 'right_lung', source: 'ai', width: 100, height: 100, deflated }] });
      assert.equal(!r.ok && r.error.code, 'BAD_REQUEST');
      assert.match(!r.ok ? r.error.message : '', /could not be inflated|bit-packed is 1250/);
    }

    // A stroke sent as a patch of its rows, run-length coded (as the editor sends it), through the wire format the
    // web mode uses: the station stores the whole mask, and an audit entry records the save.
    const beforePatch = packBits(mask.bits);
    brushStroke(mask, [[60, 40], [70, 44]], 3, 1);
    assert.notDeepEqual(packBits(mask.bits), beforePatch, "the stroke changes pixels");
    const wire = decodeWire(encodeWire({ imageId, baseVersion: 3, findings: [moved], masks: [maskPatch({ id: 'right_lung', label: 'right_lung', source: 'ai', width: 100, height: 100, bits: mask.bits }, { x: 57, y: 37, w: 17, h: 11 })] }));
    const v4 = await ok<AnnotationSaved>(ws.dispatch('annotations:save', wire));
    assert.deepEqual([v4.version, v4.masksWritten], [4, 1]);
    assert.deepEqual(unpackBits((await ok<AnnotationStateView>(ws.dispatch('annotations:get', { imageId }))).masks[0].packed, 100 * 100), mask.bits);
    assert.equal(listAudit(ws.store.db).filter((e) => e.action === 'annotations.save').length, 4);
    const badPatch = await ws.dispatch('annotations:save', { imageId, baseVersion: 4, findings: [], masks: [{ id: 'right_lung', patch: { start: 0, length: 100, rle: new Uint8Array([1, 99]) } }] });
    assert.equal(!badPatch.ok && badPatch.error.code, 'BAD_REQUEST');

    // Bad input is refused by the contract, with the field named.
    const bad = await ws.dispatch('annotations:save', { imageId, baseVersion: 4, findings: [{ id: 'x' }], masks: [] });
    assert.equal(!bad.ok && bad.error.code, 'BAD_REQUEST');
    assert.match(!bad.ok ? bad.error.message : '', /findings\.0/);
    const missing = await ws.dispatch('annotations:get', { imageId: 999 });
    assert.equal(!missing.ok && missing.error.code, 'NOT_FOUND');
    off();
  } finally {
    await ws.close();
  }
});
