import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy, aucWithInterval, averagePrecision, binaryStats, cocoAp, cocoMap, dice, maskIou, meanAp50, rocAuc,
  seededRandom, sensitivityAtSpecificity, specificityAtSensitivity, type DetBox, type GtBox,
} from './metrics';

const close = (a: number | null, b: number, eps = 1e-9) => assert.ok(a !== null && Math.abs(a - b) < eps, `${a} != ${b}`);

test('binary stats and accuracy at a threshold', () => {
  const s = binaryStats([true, true, false, false], [0.9, 0.4, 0.6, 0.1], 0.5);
  assert.deepEqual([s.tp, s.fn, s.fp, s.tn], [1, 1, 1, 1]);
  close(s.accuracy, 0.5);
  close(s.sensitivity, 0.5);
  close(s.specificity, 0.5);
  assert.equal(binaryStats([true], [0.5], 0.5).tp, 1); // the threshold itself is positive
  close(accuracy(['tb', 'normal', 'tb'], ['tb', 'tb', 'tb']), 2 / 3);
});

test('ROC AUC, with ties counted as one half', () => {
  close(rocAuc([true, true, false, false], [0.9, 0.8, 0.7, 0.1]), 1);
  close(rocAuc([true, false], [0.5, 0.5]), 0.5);
  close(rocAuc([true, true, false, false, false], [0.8, 0.4, 0.4, 0.3, 0.9]), 3.5 / 6);
  close(rocAuc([false, false, true, true], [0.9, 0.8, 0.7, 0.1]), 0);
  assert.equal(rocAuc([true, true], [0.1, 0.2]), null);
});

const pos = [0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.1];
const neg = [0.05, 0.2, 0.32, 0.5, 0.95];
const y = [...pos.map(() => true), ...neg.map(() => false)];
const sc = [...pos, ...neg];

test('specificity at 90% sensitivity', () => {
  const r = specificityAtSensitivity(y, sc, 0.9)!;
  close(r.threshold, 0.3);
  close(r.sensitivity, 0.9);
  close(r.specificity, 0.4);
});

test('sensitivity at 70% specificity', () => {
  const r = sensitivityAtSpecificity(y, sc, 0.7)!;
  close(r.sensitivity, 0.4);
  close(r.specificity, 0.8);
  assert.ok(r.threshold > 0.5 && r.threshold <= 0.6);
});

const A: GtBox = { x0: 0, y0: 0, x1: 10, y1: 10, cls: 0 };
const B: GtBox = { x0: 20, y0: 20, x1: 30, y1: 30, cls: 0 };
const det = (x0: number, y0: number, x1: number, y1: number, score: number, cls = 0): DetBox => ({ x0, y0, x1, y1, score, cls });

test('AP50, VOC all-point interpolation', () => {
  const dets = [[det(0, 0, 10, 10, 0.9), det(100, 100, 110, 110, 0.8), det(20, 20, 30, 30, 0.7)]];
  close(averagePrecision(dets, [[A, B]], 0.5, 0), 0.5 + 0.5 * (2 / 3));
  // a duplicate detection of a found box is a false positive
  close(averagePrecision([[det(0, 0, 10, 10, 0.9), det(0, 0, 10, 10, 0.8)]], [[A]], 0.5, 0), 1);
  close(averagePrecision([[det(0, 0, 10, 10, 0.8), det(0, 0, 10, 10, 0.9, 1)]], [[A]], 0.5, null), 1);
  close(averagePrecision([[det(0, 0, 10, 10, 0.9)]], [[A, B]], 0.5, 0), 0.5);
  assert.equal(averagePrecision([[det(0, 0, 1, 1, 0.5)]], [[]], 0.5, 0), null);
  // the other class has no ground truth: the mean takes only classes with ground truth
  close(meanAp50([[det(0, 0, 10, 10, 0.9), det(0, 0, 10, 10, 0.9, 1)]], [[A]], 2), 1);
});

test('COCO-style AP (101 points) and mAP@[.5:.95]', () => {
  const dets = [[det(0, 0, 10, 10, 0.9), det(100, 100, 110, 110, 0.8), det(20, 20, 30, 30, 0.7)]];
  close(cocoAp(dets, [[A, B]], 0.5, 0), (51 + 50 * (2 / 3)) / 101);
  close(cocoMap([[det(0, 0, 10, 10, 0.9)]], [[A]], 1), 1);
  // IoU 0.72: a hit at 0.50 … 0.70, a miss at 0.75 … 0.95
  close(cocoMap([[det(0, 0, 10, 7.2, 0.9)]], [[A]], 1), 0.5);
});

test('Dice and IoU of masks', () => {
  close(dice([1, 1, 0, 0], [1, 0, 1, 0]), 0.5);
  close(maskIou([1, 1, 0, 0], [1, 0, 1, 0]), 1 / 3);
  close(dice([1, 2, 2, 0], [1, 2, 0, 0], 2), 2 / 3);
  close(maskIou([1, 2, 2, 0], [1, 2, 0, 0], 2), 0.5);
  assert.equal(dice([0, 0], [0, 0]), null);
});

test('bootstrap interval: deterministic, contains the statistic, narrower with more data', () => {
  const y: boolean[] = [];
  const s: number[] = [];
  const rnd = seededRandom(7);
  for (let i = 0; i < 400; i++) { y.push(i % 2 === 0); s.push((i % 2 === 0 ? 1 : 0) + rnd() * 1.5); }
  const small = aucWithInterval(y.slice(0, 40), s.slice(0, 40), { replicates: 500 })!;
  assert.deepEqual(small, aucWithInterval(y.slice(0, 40), s.slice(0, 40), { replicates: 500 }));
  const big = aucWithInterval(y, s, { replicates: 500 })!;
  const auc = rocAuc(y, s)!;
  assert.equal(big.value, auc);
  assert.ok(big.low <= auc && auc <= big.high);
  assert.ok(big.high - big.low < small.high - small.low);
  assert.equal(aucWithInterval([true, true], [1, 2]), null);
});
