import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MaskEdit,
  applyDiff,
  brushStroke,
  decodeRle,
  diffFromPatch,
  encodeRle,
  fillPolygon,
  floodFill,
  packBits,
  readPatch,
  strokeBounds,
  unpackBits,
  type MaskPixels,
} from './maskDiff';

function mask(width: number, height: number, rows?: string[]): MaskPixels {
  const bits = new Uint8Array(width * height);
  rows?.forEach((r, y) => [...r].forEach((c, x) => (bits[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height, bits };
}

function show(m: MaskPixels): string[] {
  const out: string[] = [];
  for (let y = 0; y < m.height; y++) out.push([...m.bits.subarray(y * m.width, (y + 1) * m.width)].map((v) => (v ? '#' : '.')).join(''));
  return out;
}

/** Deterministic pseudo-random numbers, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('run-length coding round-trips any bytes, including long runs', () => {
  const rand = rng(1);
  for (const n of [0, 1, 127, 128, 129, 20_000]) {
    const src = new Uint8Array(n).map(() => (rand() < 0.05 ? 1 : 0));
    assert.deepEqual(decodeRle(encodeRle(src), new Uint8Array(n)), src);
  }
  const long = new Uint8Array(3_000_000).fill(1);
  const enc = encodeRle(long);
  assert.ok(enc.length <= 5, `a 3 M run codes in ${enc.length} bytes`);
  assert.deepEqual(decodeRle(enc, new Uint8Array(long.length)), long);
  assert.throws(() => decodeRle(enc, new Uint8Array(10)), /longer/);
  // Runs are skipped a word at a time: views starting and ending anywhere in their buffer code the same runs.
  const rows = new Uint8Array(5_000).map((_, i) => (i % 100 > 37 && i % 100 < 91 ? 1 : rand() < 0.01 ? 255 : 0));
  for (const [a, b] of [[0, 5_000], [1, 4_999], [2, 4_001], [3, 3_333], [7, 9], [5, 5]]) {
    const view = rows.subarray(a, b);
    const copy = view.slice();
    assert.deepEqual(encodeRle(view), encodeRle(copy), `view ${a}..${b}`);
    assert.deepEqual(decodeRle(encodeRle(view), new Uint8Array(b - a)), copy);
  }
});

test('mask diffs apply undo and redo exactly on random masks and random edits', () => {
  const rand = rng(7);
  for (let trial = 0; trial < 30; trial++) {
    const w = 20 + Math.floor(rand() * 200);
    const h = 20 + Math.floor(rand() * 200);
    const m = mask(w, h);
    m.bits.forEach((_, i) => (m.bits[i] = rand() < 0.3 ? 1 : 0));
    const original = m.bits.slice();
    const box = { x: Math.floor(rand() * (w - 10)), y: Math.floor(rand() * (h - 10)), w: 10, h: 10 };
    box.w = 1 + Math.floor(rand() * (w - box.x));
    box.h = 1 + Math.floor(rand() * (h - box.y));
    const before = readPatch(m, box);
    for (let k = 0; k < 50; k++) {
      const x = box.x + Math.floor(rand() * box.w);
      const y = box.y + Math.floor(rand() * box.h);
      m.bits[y * w + x] ^= 1;
    }
    const edited = m.bits.slice();
    const diff = diffFromPatch(m, box, before);
    if (!diff) {
      assert.deepEqual(edited, original);
      continue;
    }
    assert.ok(diff.box.x >= box.x && diff.box.x + diff.box.w <= box.x + box.w, 'the diff is inside the touched box');
    applyDiff(m, diff, 'undo');
    assert.deepEqual(m.bits, original);
    applyDiff(m, diff, 'redo');
    assert.deepEqual(m.bits, edited);
  }
});

test('a tiled mask edit records only the changed box, across many ticks', () => {
  const m = mask(500, 400);
  const edit = new MaskEdit(m);
  const pts: [number, number][] = [[100, 100], [120, 105], [150, 110], [200, 150]];
  for (let i = 1; i < pts.length; i++) {
    edit.touch(strokeBounds(m, pts.slice(i - 1, i + 1), 6));
    brushStroke(m, pts.slice(i - 1, i + 1), 6, 1);
  }
  const painted = m.bits.slice();
  const diff = edit.finish()!;
  assert.deepEqual(diff.box, { x: 94, y: 94, w: 112, h: 62 });
  applyDiff(m, diff, 'undo');
  assert.equal(m.bits.reduce((a, b) => a + b, 0), 0);
  applyDiff(m, diff, 'redo');
  assert.deepEqual(m.bits, painted);
  assert.equal(new MaskEdit(m).finish(), null, 'nothing touched, no diff');
});

test('brush stamps a disc, joins fast moves without gaps, and erases', () => {
  const m = mask(9, 9);
  brushStroke(m, [[4.5, 4.5]], 2, 1);
  assert.deepEqual(show(m), ['.........', '.........', '....#....', '...###...', '..#####..', '...###...', '....#....', '.........', '.........']);
  const line = mask(40, 5);
  const box = brushStroke(line, [[2.5, 2.5], [37.5, 2.5]], 1, 1);
  assert.deepEqual(show(line)[2], '.' + '#'.repeat(38) + '.');
  assert.ok(box!.x <= 1 && box!.y <= 1 && box!.x + box!.w >= 39 && box!.y + box!.h >= 4, 'the returned box covers the paint');
  brushStroke(m, [[4.5, 4.5]], 1, 0);
  assert.deepEqual(show(m).slice(2, 7), ['....#....', '...#.#...', '..#...#..', '...#.#...', '....#....']);
});

test('polygon fill follows pixel centres (even-odd), and clips to the image', () => {
  const m = mask(8, 6);
  const box = fillPolygon(m, [[1, 1], [7, 1], [7, 5], [1, 5]], 1);
  assert.deepEqual(box, { x: 1, y: 1, w: 7, h: 5 });
  assert.deepEqual(show(m), ['........', '.######.', '.######.', '.######.', '.######.', '........']);
  const tri = mask(7, 4);
  fillPolygon(tri, [[0, 0], [7, 0], [3.5, 4]], 1);
  assert.deepEqual(show(tri), ['#######', '.#####.', '..###..', '...#...']);
  const off = mask(4, 4);
  fillPolygon(off, [[-10, -10], [2, -10], [2, 2], [-10, 2]], 1);
  assert.deepEqual(show(off), ['##..', '##..', '....', '....']);
});

test('flood fill fills a closed region and leaves an open one alone', () => {
  const ring = ['.......', '.#####.', '.#...#.', '.#...#.', '.#####.', '.......'];
  const m = mask(7, 6, ring);
  const box = floodFill(m, 3, 2, 1);
  assert.deepEqual(box, { x: 2, y: 2, w: 3, h: 2 });
  assert.deepEqual(show(m), ['.......', '.#####.', '.#####.', '.#####.', '.#####.', '.......']);
  const open = mask(7, 6, ['.......', '.#####.', '.#...#.', '.#....', '.#####.', '.......'].map((r) => r.padEnd(7, '.')));
  const before = open.bits.slice();
  assert.equal(floodFill(open, 3, 2, 1), null, 'a region reaching the border is not closed');
  assert.deepEqual(open.bits, before, 'and nothing changed');
  const erase = mask(7, 6, ring);
  assert.deepEqual(floodFill(erase, 1, 1, 0), { x: 1, y: 1, w: 5, h: 4 }, 'erasing a closed blob');
  assert.equal(erase.bits.reduce((a, b) => a + b, 0), 0);
});

test('bit packing round-trips and is 8x smaller', () => {
  const rand = rng(3);
  for (const n of [1, 7, 8, 9, 1001]) {
    const bits = new Uint8Array(n).map(() => (rand() < 0.5 ? 1 : 0));
    const packed = packBits(bits);
    assert.equal(packed.length, Math.ceil(n / 8));
    assert.deepEqual(unpackBits(packed, n), bits);
    const unaligned = new Uint8Array(n + 1).subarray(1);
    unaligned.set(bits);
    assert.deepEqual(packBits(unaligned), packed, 'the word-at-a-time and the byte-at-a-time paths agree');
  }
  assert.deepEqual([...packBits(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 1, 1]))], [0x81, 0x80]);
  assert.throws(() => unpackBits(new Uint8Array(3), 9), /expected 2/);
});
