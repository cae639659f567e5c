// evaluateManifest on a small hand-made data set (two PNGs, one missing file) with the tiny random-weight pack,
// and the training split rule reproduced by readManifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { evaluateManifest, readManifest } from './index';
import { createAnalyzer, loadModelPack } from '../inference/index';
import { tinyPack } from '../inference/testPack';

function writeSet(name: string, rows: object[]): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-eval-')), name);
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir;
}

test('readManifest: the pack split rule halves official val rows by sha256(id) and drops DA/DB duplicates', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `row${i}`);
  const dir = writeSet('shenzhen', ids.map((id) => ({ id, image: `images/${id}.png`, split: 'val', label: 'normal' })));
  const rows = readManifest(path.join(dir, 'manifest.jsonl'));
  for (const r of rows) {
    const h = parseInt(crypto.createHash('sha256').update(r.id).digest('hex')[0], 16);
    assert.equal(r._split, h < 8 ? 'val' : 'test');
  }
  assert.ok(rows.some((r) => r._split === 'test') && rows.some((r) => r._split === 'val'));
  assert.ok(readManifest(path.join(dir, 'manifest.jsonl'), 'manifest').every((r) => r._split === 'val'));
  const dadb = writeSet('tbx11k_extra_da_db', [
    { id: 'dadb_n5', image: 'images/a.png', split: 'train', label: 'non_tb' },
    { id: 'dadb_n31', image: 'images/b.png', split: 'val', label: 'non_tb' },
  ]);
  assert.deepEqual(readManifest(path.join(dadb, 'manifest.jsonl')).map((r) => r.id), ['dadb_n5']);
  // other sources keep the manifest's split
  const nih = writeSet('nih_cxr14_talo', [{ id: 'x', image: 'images/x.png', split: 'val', label: 'normal' }]);
  assert.equal(readManifest(path.join(nih, 'manifest.jsonl'))[0]._split, 'val');
});

const fx = tinyPack();
test('evaluateManifest reports per source and pooled, and lists files that fail', { skip: fx.dir ? false : `tiny pack unavailable: ${fx.reason}` }, async () => {
  const W = 160;
  const H = 128;
  const rows = [
    { id: 'a', image: 'images/a.png', split: 'test', label: 'tb', boxes: [{ x0: 20, y0: 20, x1: 60, y1: 60, cls: 'ActiveTuberculosis' }],
      lung_polygons: { right_lung: [[20, 10], [70, 10], [70, 110], [20, 110]], left_lung: [[90, 10], [140, 10], [140, 110], [90, 110]] } },
    { id: 'b', image: 'images/b.png', split: 'test', label: 'normal', boxes: [] },
    { id: 'c', image: 'images/missing.png', split: 'test', label: 'normal', boxes: [] },
    { id: 'd', image: 'images/d.png', split: 'train', label: 'normal', boxes: [] },
  ];
  const dir = writeSet('nih_cxr14_talo', rows);
  for (const id of ['a', 'b']) {
    const png = new PNG({ width: W, height: H, colorType: 0, inputColorType: 0, bitDepth: 8 });
    for (let i = 0; i < W * H; i++) png.data[i] = (i * 31 + (id === 'a' ? 7 : 0)) % 256;
    fs.writeFileSync(path.join(dir, 'images', `${id}.png`), PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
  }
  const analyzer = await createAnalyzer(await loadModelPack(fx.dir!, { threads: 1 }), { ep: 'cpu' });
  const rep = await evaluateManifest(analyzer, path.join(dir, 'manifest.jsonl'), { includeRows: true });
  assert.equal(rep.split, 'test');
  assert.equal(rep.pooled.classification.n, 2);
  assert.equal(rep.pooled.classification.nTb, 1);
  assert.ok(rep.pooled.classification.auc === 0 || rep.pooled.classification.auc === 1 || rep.pooled.classification.auc === 0.5);
  assert.equal(rep.pooled.detection?.nImages, 1);
  assert.equal(rep.pooled.segmentation?.n, 1);
  assert.deepEqual(Object.keys(rep.sources), ['nih_cxr14_talo']);
  assert.equal(rep.failures.length, 1);
  assert.equal(rep.failures[0].id, 'c');
  assert.equal(rep.failures[0].error.code, 'NOT_FOUND');
  assert.equal(rep.rows?.length, 2);
  await analyzer.release();
});
