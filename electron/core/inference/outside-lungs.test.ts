// The shipped pack's TB score must not depend on what lies outside the thorax. On held-out images picked by a rule
// fixed in advance (the first 4 test-split rows of each source, manifest order), a bright frame, burned-in text and
// a label block (drawn clear of the lungs the model itself finds) may move the TB score by at most 5 points on any
// image and by at most 1 point at the median. Skipped, saying so, while the pack or the data sets are missing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModelPack, createAnalyzer, analyzeDetailed, decodeFile, defaultPackDir, type Analyzer } from './index';
import { readManifest } from '../evaluation/index';
import { rasterizePolygon } from './postprocess';
import { REPO_ROOT } from './paths';
import { withFrame, withLabel, withText } from '../../testing/burnin';
import type { DecodedImage } from '../imaging/types';

const PACK = process.env.CXR_TEST_PACK || defaultPackDir();
const DATA = path.resolve(REPO_ROOT, '..', 'shared', 'datasets');
const SOURCES = ['tbx11k', 'shenzhen', 'tbx11k_extra_da_db', 'nih_cxr14_talo', 'ieee8023_covid_cxr', 'actualmed_covid_cxr', 'figure1_covid_cxr'];
const skip = !fs.existsSync(path.join(PACK, 'manifest.json'))
  ? `no model pack at ${PACK}`
  : !fs.existsSync(path.join(DATA, 'shenzhen', 'manifest.jsonl')) ? `data sets not found at ${DATA}` : false;
let analyzer: Analyzer;

// Packs known to fail the bound, by model sha256: the test still runs and prints what it measures, reported as a
// known failure (todo) rather than a pass; any other pack is held to the bound. The model card's transfer section
// has the full measurement (every test image) and what would close it.
const KNOWN_FAILURE: Record<string, string> = {
  c3db82708442d62006b4b47f8ebb9877d19dd7f4a4f54f2fd15598654b6d7d02:
    'cxr-tb-v1 1.2.1 (whole-image classifier): a bright frame moves its TB score by up to 72 points on the test split',
};
const todo = skip ? false : (KNOWN_FAILURE[JSON.parse(fs.readFileSync(path.join(PACK, 'manifest.json'), 'utf8')).model_sha256] ?? false);

before(async () => {
  if (skip) return;
  analyzer = await createAnalyzer(await loadModelPack(PACK, { threads: 1 }), { ep: 'cpu' });
});

async function score(img: DecodedImage): Promise<number> {
  return (await analyzeDetailed(analyzer, img)).result.tbScore;
}

test('real pack: a frame, burned-in text and a label block outside the lungs move the TB score by ≤ 5 points, ≤ 1 at the median', { skip, todo }, async () => {
  const deltas: { id: string; kind: string; base: number; delta: number }[] = [];
  for (const src of SOURCES) {
    const rows = readManifest(path.join(DATA, src, 'manifest.jsonl')).filter((r) => r._split === 'test').slice(0, 4);
    for (const row of rows) {
      const { decoded } = await decodeFile(row._path);
      const { result } = await analyzeDetailed(analyzer, decoded);
      const W = decoded.columns;
      const H = decoded.rows;
      const lungs = new Uint8Array(W * H);
      rasterizePolygon(result.lungs.right, W, H, lungs);
      rasterizePolygon(result.lungs.left, W, H, lungs);
      const variants: [string, DecodedImage | null][] = [
        ['frame', withFrame(decoded)], ['text', withText(decoded, lungs)], ['label', withLabel(decoded, lungs)],
      ];
      for (const [kind, img] of variants) {
        if (!img) continue;
        deltas.push({ id: row.id, kind, base: result.tbScore, delta: Math.abs((await score(img)) - result.tbScore) });
      }
    }
  }
  assert.ok(deltas.length >= 60, `only ${deltas.length} perturbed images were scored`);
  const sorted = deltas.map((d) => d.delta).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const worst = deltas.reduce((a, b) => (b.delta > a.delta ? b : a));
  console.log(`  ${deltas.length} perturbed images: median |Δ| ${median.toFixed(3)}, max ${worst.delta.toFixed(3)} (${worst.id}, ${worst.kind}, base ${worst.base.toFixed(2)})`);
  for (const kind of ['frame', 'text', 'label']) {
    const k = deltas.filter((d) => d.kind === kind).map((d) => d.delta);
    console.log(`    ${kind}: n ${k.length}, max ${Math.max(...k).toFixed(3)}`);
  }
  assert.ok(worst.delta <= 5, `${worst.id} (${worst.kind}) moved by ${worst.delta.toFixed(2)} points`);
  assert.ok(median <= 1, `median move ${median.toFixed(3)} points`);
});
