import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateLanguage, groundTruthQuestions, readingFindings, readingStyleSummary, type LanguageItem } from './language';
import { lungFieldFromPolygons } from '../reporting/zones';
import { factsFromReading } from '../reporting/reading';

const LUNGS = { right: [[20, 20], [90, 20], [90, 180], [20, 180]] as [number, number][], left: [[110, 20], [180, 20], [180, 180], [110, 180]] as [number, number][] };

function item(id: string, label: string, gt: LanguageItem['gtBoxes'], model: { x: number; y: number; w: number; h: number; label: string; score: number }[], tbScore: number, reading: string | null = null): LanguageItem {
  return {
    id, source: 'test', label, clinicalReading: reading, gtBoxes: gt, gtLungs: null,
    modelReading: { tbScore, threshold: 9, boxes: model, lungs: LUNGS, model: { name: 'm', version: '1' }, image: { width: 200, height: 200 } },
  };
}

const activeRightUpper = { x0: 30, y0: 30, x1: 70, y1: 60, cls: 'ActiveTuberculosis' };
const oldLeftLower = { x0: 130, y0: 140, x1: 170, y1: 175, cls: 'ObsoletePulmonaryTuberculosis' };
const asModel = (b: typeof activeRightUpper, score = 0.9) => ({ x: b.x0, y: b.y0, w: b.x1 - b.x0, h: b.y1 - b.y0, label: b.cls, score });

test('ground-truth questions: TB always; lungs, zones and kinds where the lesions are known', () => {
  const field = lungFieldFromPolygons(200, 200, LUNGS);
  const q = groundTruthQuestions(item('a', 'tb', [activeRightUpper, oldLeftLower], [], 50), 0, field);
  assert.equal(q.zoneReference, 'model_lungs');
  assert.deepEqual(Object.fromEntries(q.questions.map((x) => [x.kind, x.truth])), { tb: true, left: true, right: true, upper: true, middle: false, lower: true, active: true, obsolete: true });
  const normal = groundTruthQuestions(item('b', 'normal', [], [], 1), 1, field);
  assert.equal(normal.questions.length, 8);
  assert.ok(normal.questions.every((x) => !x.truth));
  // a TB image without boxes: only the TB question can be checked
  assert.deepEqual(groundTruthQuestions(item('c', 'tb', [], [], 50), 2, field).questions.map((x) => x.kind), ['tb']);
});

test('findings equal to the ground truth answer every closed question right; a missed lesion costs exactly its questions', () => {
  const perfect = evaluateLanguage([
    item('a', 'tb', [activeRightUpper, oldLeftLower], [asModel(activeRightUpper), asModel(oldLeftLower)], 50),
    item('b', 'normal', [], [], 1),
    item('c', 'tb', [activeRightUpper], [asModel(activeRightUpper)], 40),
  ], 0.3);
  assert.equal(perfect.vqa!.n, 24);
  assert.equal(perfect.vqa!.accuracy, 1);
  assert.equal(perfect.vqa!.notYesNo, 0);
  // the model misses the left lower obsolete lesion (and proposes one below the display score)
  const missed = evaluateLanguage([item('a', 'tb', [activeRightUpper, oldLeftLower], [asModel(activeRightUpper), asModel(oldLeftLower, 0.1)], 50)], 0.3);
  // wrong: left, lower, obsolete (3 of 8)
  assert.equal(missed.vqa!.accuracy, Math.round((5 / 8) * 1e4) / 1e4);
  assert.equal(missed.vqa!.byKind.left.accuracy, 0);
  assert.equal(missed.vqa!.byKind.tb.accuracy, 1);
});

test('report metrics: readings reduced to their findings part, drafts and summaries scored, examples kept', () => {
  assert.equal(readingFindings('male 55yrs / PTB in the left upper field'), 'PTB in the left upper field');
  assert.equal(readingFindings('normal'), 'normal');
  const rep = evaluateLanguage([
    item('a', 'tb', [], [asModel(activeRightUpper)], 50, 'male 30yrs / PTB in the right upper field'),
    item('b', 'normal', [], [], 1, 'female 40yrs / normal'),
  ], 0.3).reports!;
  assert.equal(rep.n, 2);
  // the summaries match these two readings word for word
  assert.equal(rep.readingStyleSummary.bleu1, 1);
  assert.equal(rep.readingStyleSummary.rougeL, 1);
  assert.ok(rep.impression.bleu1 > 0 && rep.impression.bleu1 < 1);
  assert.deepEqual(rep.examples.map((e) => e.summary), ['PTB in the right upper field', 'normal']);
});

test('reading-style summaries', () => {
  const f = (boxes: ReturnType<typeof asModel>[], tb = 50) => factsFromReading({ tbScore: tb, threshold: 9, boxes, lungs: LUNGS, model: { name: 'm', version: '1' }, image: { width: 200, height: 200 } });
  assert.equal(readingStyleSummary(f([], 1)), 'normal');
  assert.equal(readingStyleSummary(f([], 50)), 'PTB');
  assert.equal(readingStyleSummary(f([asModel(oldLeftLower)])), 'Old PTB in the left lower field');
  assert.equal(readingStyleSummary(f([asModel(activeRightUpper), asModel(oldLeftLower)])), 'bilateral PTB');
  assert.equal(readingStyleSummary(f([asModel(activeRightUpper), { ...asModel(activeRightUpper), x: 120 }])), 'PTB in the bilateral upper field');
});
