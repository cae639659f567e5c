import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { EditorController, type LoadedAnnotations, type SaveReply, type SaveRequest, type SaveStatus } from './controller';
import { brushStroke, decodeRle, packBits, strokeBounds, unpackBits } from './maskDiff';
import { proposalFindings } from '../../../electron/contract/index';
import type { SavePayload } from './session';

const W = 60;
const H = 50;
const lungs = { right: [[2, 2], [25, 2], [25, 45], [2, 45]] as [number, number][], left: [[32, 2], [55, 2], [55, 45], [32, 45]] as [number, number][] };

function loaded(version = 0): LoadedAnnotations {
  const findings = proposalFindings({ id: 3, model: { name: 'cxr-tb', version: '1' }, boxes: [{ x: 5, y: 5, w: 10, h: 10, label: 'ActiveTuberculosis', score: 0.7 }] });
  return { version, findings, masks: [], aiLungs: lungs, author: null, savedAt: null, locked: null };
}

/** A store double that answers like the real one: versions grow, a stale base is refused with its code. */
function fakeStore() {
  const saves: SavePayload[] = [];
  /** the requests as sent (patches and all) */
  const sentRequests: SaveRequest[] = [];
  /** each mask of the latest version, bit-packed, as the station keeps it */
  let stored = new Map<string, Uint8Array>();
  let latest = 0;
  let failNext: { code: string; message: string } | null = null;
  // A held save waits for release(), whenever each happens.
  let release: () => void = () => {};
  let held: Promise<void> | null = null;
  return {
    saves,
    sentRequests,
    failOnce(e: { code: string; message: string }) {
      failNext = e;
    },
    holdNext() {
      held = new Promise<void>((r) => (release = r));
    },
    release() {
      release();
    },
    bumpElsewhere() {
      latest++;
    },
    deps: {
      save: async (sent: SaveRequest): Promise<SaveReply> => {
        // What the station does with a deflated mask: inflate it back to its packed bits.
        // And with a patch: write its bytes over the base version's mask (here: refused when there is none).
        const p = {
          ...sent,
          author: '',
          masks: sent.masks.map((m) => {
            if ('deflated' in m) return (({ deflated, ...rest }) => ({ ...rest, packed: new Uint8Array(inflateSync(deflated)) }))(m);
            if ('patch' in m) {
              const base = stored.get(m.id);
              if (!base) throw Object.assign(new Error(`no mask ${m.id} to patch`), { code: 'BAD_REQUEST' });
              const bits = unpackBits(base, W * H);
              decodeRle(m.patch.rle, bits.subarray(m.patch.start, m.patch.start + m.patch.length));
              const packed = packBits(bits);
              return { id: m.id, label: 'left_lung' as const, source: 'ai' as const, width: W, height: H, packed };
            }
            return m;
          }),
        };
        if (held) {
          const wait = held;
          held = null;
          await wait;
        }
        if (failNext) {
          const e = Object.assign(new Error(failNext.message), { code: failNext.code });
          failNext = null;
          throw e;
        }
        if (p.baseVersion !== latest) throw Object.assign(new Error(`changed elsewhere (version ${latest})`), { code: 'ANNOTATION_VERSION_STALE' });
        saves.push(p);
        sentRequests.push(sent);
        const next = new Map<string, Uint8Array>();
        for (const m of p.masks) next.set(m.id, 'packed' in m ? m.packed : stored.get(m.id)!);
        stored = next;
        latest++;
        // Like the station, it answers with the findings stamped with who changed them.
        const findings = sent.findings.map((f) => ({ ...f, provenance: { ...f.provenance, changedBy: 'Dr A', changedAt: `t${latest}` } }));
        return { version: latest, savedAt: `t${latest}`, author: 'Dr A', findings };
      },
    },
  };
}

// Read through functions: the status changes behind TypeScript's back (asynchronously), so no narrowing may stick.
const statusOf = (ed: EditorController): SaveStatus => ed.status;
const stateOf = (ed: EditorController): string => ed.status.state;

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await tick();
  assert.ok(ok(), 'in time');
}

const tick = () => new Promise((r) => setTimeout(r, 5));

test('every finished edit is saved once, as the next version; the status tells the truth on the way', async () => {
  const store = fakeStore();
  const ed = new EditorController(loaded(), { width: W, height: H }, store.deps);
  assert.equal(stateOf(ed), 'idle', 'opening is not an edit');
  const id = Object.keys(ed.doc.findings)[0];

  store.holdNext();
  ed.accept(id);
  assert.equal(stateOf(ed), 'pending');
  await tick();
  assert.equal(stateOf(ed), 'saving', 'shown as saving while the store has not answered');
  // An edit made while a save is out is saved after it, on the version it returns.
  ed.nudge(id, 3, 0);
  store.release();
  await tick();
  await ed.flush();
  assert.deepEqual(ed.status, { state: 'saved', version: 2, savedAt: 't2', author: 'Dr A' });
  assert.equal(store.saves.length, 2);
  assert.deepEqual(store.saves.map((s) => s.baseVersion), [0, 1]);
  // The first save carries the lung masks filled from the model's outlines; the second keeps them.
  assert.deepEqual(store.saves[0].masks.map((m) => ('packed' in m ? m.id : `${m.id}:keep`)), ['right_lung', 'left_lung']);
  assert.deepEqual(store.saves[1].masks.map((m) => ('packed' in m ? m.id : `${m.id}:keep`)), ['right_lung:keep', 'left_lung:keep']);
  assert.equal(store.saves[1].findings[0].x, 8);
  assert.equal(store.saves[1].findings[0].state, 'edited');
  // The stored record of who changed it comes back into the document, without an undo step of its own.
  assert.deepEqual([ed.doc.findings[id].provenance.changedBy, ed.doc.findings[id].provenance.changedAt], ['Dr A', 't2']);
  assert.equal(ed.history.undoDepth, 2);

  // A brush stroke is one gesture: one save, with only that mask's pixels, when the pointer is released.
  ed.beginGesture('m1');
  for (const x of [30, 34, 38]) {
    const pts: [number, number][] = [[x, 20]];
    ed.run({ type: 'mask', maskId: 'left_lung', bounds: strokeBounds(ed.doc.masks.left_lung, pts, 3), paint: (m) => brushStroke(m, pts, 3, 0) }, 'squash');
  }
  await tick();
  assert.equal(store.saves.length, 2, 'nothing is saved mid-stroke');
  ed.endGesture();
  await tick();
  await ed.flush();
  assert.equal(store.saves.length, 3);
  const sent = store.saves[2].masks.find((m) => m.id === 'left_lung');
  assert.ok(sent && 'packed' in sent);
  assert.deepEqual(unpackBits(sent.packed, W * H), ed.doc.masks.left_lung.bits);
  // On the wire it was a patch of the rows the stroke touched (y 17..23 of 50), not the whole mask; the other kept.
  const wire = store.sentRequests[2].masks;
  const patch = wire.find((m) => m.id === 'left_lung');
  assert.ok(patch && 'patch' in patch);
  assert.ok(patch.patch.rle.byteLength < Math.ceil((W * H) / 8) / 3, `patch of ${patch.patch.rle.byteLength} bytes`);
  assert.ok(patch.patch.start <= 17 * W && patch.patch.start + patch.patch.length >= 24 * W, 'the rows of the stroke');
  assert.deepEqual(wire.find((m) => m.id === 'right_lung'), { id: 'right_lung', keep: true });

  // Undo is an edit like any other: saved as the next version.
  ed.undo();
  await tick();
  await ed.flush();
  assert.equal(store.saves.length, 4);
  assert.equal(stateOf(ed), 'saved');
  assert.ok('patch' in store.sentRequests[3].masks.find((m) => m.id === 'left_lung')!, 'an undo of a stroke is sent as a patch too');
  assert.deepEqual(unpackBits((store.saves[3].masks.find((m) => m.id === 'left_lung') as { packed: Uint8Array }).packed, W * H), ed.doc.masks.left_lung.bits);

  // A press that changed nothing is no version.
  ed.beginGesture('m2');
  ed.endGesture();
  await tick();
  assert.equal(store.saves.length, 4);
});

test('a failed save keeps the change and says so; Retry saves it; a stale version is shown and not retried', async () => {
  const store = fakeStore();
  const ed = new EditorController(loaded(), { width: W, height: H }, store.deps);
  const id = Object.keys(ed.doc.findings)[0];
  store.failOnce({ code: 'NETWORK', message: 'The workstation service is not reachable.' });
  ed.reject(id);
  await until(() => stateOf(ed) === 'error');
  assert.equal(statusOf(ed).state === 'error' && (statusOf(ed) as { stale: boolean }).stale, false);
  assert.equal(ed.hasUnsavedChanges, true);
  ed.retrySave();
  await tick();
  await ed.flush();
  assert.equal(stateOf(ed), 'saved');
  assert.equal(store.saves.length, 1);
  assert.deepEqual(store.saves[0].masks.map((m) => 'packed' in m), [true, true], 'the masks of the failed save are sent again');

  store.bumpElsewhere(); // another window saved version 2
  ed.accept(id);
  await tick();
  await ed.flush();
  assert.equal(stateOf(ed), 'error');
  assert.equal((statusOf(ed) as { stale?: boolean }).stale, true);
  assert.match((statusOf(ed) as { message?: string }).message ?? '', /changed elsewhere/);
  ed.nudge(id, 1, 1);
  await tick();
  await ed.flush();
  assert.equal(store.saves.length, 1, 'a stale editor does not overwrite the newer version');
  assert.equal(stateOf(ed), 'error');
});

test('a signed (locked) case opens read-only: no edit is made or saved', async () => {
  const store = fakeStore();
  const ed = new EditorController({ ...loaded(), locked: { code: 'CASE_SIGNED', message: 'signed' } }, { width: W, height: H }, store.deps);
  const id = Object.keys(ed.doc.findings)[0];
  ed.reject(id);
  ed.nudge(id, 5, 5);
  await tick();
  assert.equal(ed.doc.findings[id].state, 'proposed');
  assert.equal(store.saves.length, 0);
  assert.equal(ed.history.canUndo, false);
});

test('undo and redo select the box they bring back or change; a step that removes the selected box clears the selection', () => {
  const store = fakeStore();
  const c = new EditorController(loaded(), { width: W, height: H }, store.deps);
  const added = c.addBox({ x: 30, y: 10, w: 12, h: 8 });
  c.select(added.id);
  c.undo();
  assert.equal(c.doc.findings[added.id], undefined);
  assert.equal(c.selected, null);
  c.redo();
  assert.ok(c.doc.findings[added.id]);
  assert.equal(c.selected, added.id, 'the re-created box is selected again');
  c.select(null);
  c.reject('ai-3-0');
  c.select(null);
  c.undo();
  assert.equal(c.doc.findings['ai-3-0'].state, 'proposed');
  assert.equal(c.selected, 'ai-3-0', 'the box whose decision was undone is selected');
});
