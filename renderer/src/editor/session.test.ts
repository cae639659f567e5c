import { test } from 'node:test';
import assert from 'node:assert/strict';
import { docFromSaved, savePayload } from './session';
import { EditHistory } from './history';
import { brushStroke, packBits, strokeBounds } from './maskDiff';
import { proposalFindings } from '../../../electron/contract/index';

const analysis = { id: 1, model: { name: 'cxr-tb', version: '1.0.0' }, boxes: [{ x: 10, y: 10, w: 20, h: 20, label: 'ActiveTuberculosis', score: 0.8 }] };
const lungs = { right: [[2, 2], [20, 2], [20, 40], [2, 40]] as [number, number][], left: [[30, 2], [48, 2], [48, 40], [30, 40]] as [number, number][] };

test('the AI proposal opens with lung masks filled from the outlines, all unsaved', () => {
  const { doc, unsaved } = docFromSaved({ version: 0, findings: proposalFindings(analysis), masks: [], aiLungs: lungs }, { width: 50, height: 45 });
  assert.deepEqual(Object.keys(doc.masks), ['right_lung', 'left_lung']);
  assert.equal(doc.masks.right_lung.bits.reduce((a, b) => a + b, 0), 18 * 38);
  assert.deepEqual([...unsaved], ['right_lung', 'left_lung']);
  const first = savePayload(doc, { author: 'dr.a', baseVersion: 0, savedMaskIds: new Set(), dirty: unsaved });
  assert.ok(first.masks.every((m) => 'packed' in m), 'the first save sends every mask');
});

test('a save after an edit sends pixels only for the edited mask, and reopening gives the same document', () => {
  const { doc } = docFromSaved({ version: 0, findings: [], masks: [], aiLungs: lungs }, { width: 50, height: 45 });
  const saved = { version: 1, findings: [], aiLungs: lungs, masks: Object.values(doc.masks).map((m) => ({ id: m.id, label: m.label, source: m.source, width: m.width, height: m.height, packed: packBits(m.bits) })) };
  const reopened = docFromSaved(saved, { width: 50, height: 45 });
  assert.deepEqual(reopened.doc, doc);
  assert.equal(reopened.unsaved.size, 0, 'a saved version is not re-filled from the outlines');
  const dirty = new Set<string>();
  const h = new EditHistory(reopened.doc, { onChange: (c) => c.masks.forEach((m) => dirty.add(m.maskId)) });
  const m = h.doc.masks.left_lung;
  h.run({ type: 'mask', maskId: 'left_lung', bounds: strokeBounds(m, [[25, 20]], 3), paint: (mm) => brushStroke(mm, [[25, 20]], 3, 1) });
  const p = savePayload(h.doc, { author: 'dr.a', baseVersion: 1, savedMaskIds: new Set(['right_lung', 'left_lung']), dirty });
  assert.deepEqual(p.masks.map((x) => ('keep' in x ? `${x.id}:keep` : `${x.id}:pixels`)), ['right_lung:keep', 'left_lung:pixels']);
});
