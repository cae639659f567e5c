// The statistics of a site calibration on hand-made cases: ROC points, AUC and its interval, the paired difference,
// the threshold table and the 90 %-sensitivity threshold; and the logistic fit against solutions known otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aucDifference, aucWithInterval, rocCurve, seededRandom, tableThresholds, thresholdForSensitivity, thresholdRow } from './stats';
import { crossValidate, fitLogistic, foldCount, matrix, predictLogit, probability, stratifiedFolds } from './logistic';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tolerance ${tol})`);

test('ROC curve of a hand-made case set: one point per distinct score, from (0,0) to (1,1)', () => {
  // positives 0.9, 0.7, 0.4; negatives 0.8, 0.4, 0.2, 0.1
  const y = [true, false, true, true, false, false, false];
  const s = [0.9, 0.8, 0.7, 0.4, 0.4, 0.2, 0.1];
  const roc = rocCurve(y, s);
  assert.deepEqual(roc.map((p) => [p.threshold, p.tp, p.fp]), [[Infinity, 0, 0], [0.9, 1, 0], [0.8, 1, 1], [0.7, 2, 1], [0.4, 3, 2], [0.2, 3, 3], [0.1, 3, 4]]);
  assert.deepEqual(roc.at(-1)!.tpr, 1);
  assert.deepEqual(roc.at(-1)!.fpr, 1);
  // AUC by hand: pairs (pos > neg) + half ties over 12 pairs: 0.9 beats 4; 0.7 beats 3; 0.4 beats 2 and ties 1 → 9.5/12
  const auc = aucWithInterval(y, s)!;
  close(auc.value, 9.5 / 12, 1e-12, 'AUC');
  assert.ok(auc.low <= auc.value && auc.value <= auc.high, 'the interval holds the estimate');
  // trapezoidal area under the ROC points is the same number
  let area = 0;
  for (let i = 1; i < roc.length; i++) area += (roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr) / 2;
  close(area, 9.5 / 12, 1e-12, 'trapezoid');
});

test('AUC interval: seeded (same numbers twice), null without both classes, narrower with more cases', () => {
  const rand = seededRandom(3);
  const make = (n: number) => {
    const y: boolean[] = [];
    const s: number[] = [];
    for (let i = 0; i < n; i++) {
      const pos = i % 2 === 0;
      y.push(pos);
      s.push(rand() + (pos ? 0.5 : 0));
    }
    return { y, s };
  };
  const small = make(40);
  const a = aucWithInterval(small.y, small.s)!;
  const b = aucWithInterval(small.y, small.s)!;
  assert.deepEqual(a, b);
  const large = make(400);
  const c = aucWithInterval(large.y, large.s)!;
  assert.ok(c.high - c.low < a.high - a.low, 'more cases, narrower interval');
  assert.equal(aucWithInterval([true, true], [1, 2]), null);
  // perfect separation: every replicate is 1
  const p = aucWithInterval([true, true, false, false], [0.9, 0.8, 0.2, 0.1])!;
  assert.deepEqual([p.value, p.low, p.high], [1, 1, 1]);
});

test('paired AUC difference: zero for the same scores, its interval above zero for a clearly better score', () => {
  const rand = seededRandom(5);
  const y: boolean[] = [];
  const weak: number[] = [];
  const strong: number[] = [];
  for (let i = 0; i < 200; i++) {
    const pos = i % 2 === 0;
    y.push(pos);
    weak.push(rand() + (pos ? 0.1 : 0));
    strong.push(rand() + (pos ? 1.0 : 0));
  }
  const same = aucDifference(y, weak, weak)!;
  assert.deepEqual([same.value, same.low, same.high], [0, 0, 0]);
  const d = aucDifference(y, weak, strong)!;
  assert.ok(d.value > 0.2 && d.low > 0, JSON.stringify(d));
});

test('threshold table row: counts and rates at a threshold (flagged when score ≥ threshold)', () => {
  const y = [true, false, true, true, false, false, false];
  const s = [0.9, 0.8, 0.7, 0.4, 0.4, 0.2, 0.1];
  const r = thresholdRow(y, s, 0.4);
  assert.deepEqual([r.tp, r.fp, r.tn, r.fn], [3, 2, 2, 0]);
  assert.equal(r.sensitivity, 1);
  assert.equal(r.specificity, 0.5);
  assert.equal(r.ppv, 3 / 5);
  assert.equal(r.npv, 1);
  close(r.flaggedPer100!, 500 / 7, 1e-12);
  const none = thresholdRow(y, s, 1);
  assert.equal(none.ppv, null);
  assert.deepEqual(tableThresholds([47.77, null, 50]).filter((t) => t > 45 && t < 55), [47.77, 50]);
});

test('threshold for 90 % sensitivity: the highest one that keeps it', () => {
  // ten positives 1..10: 90 % is nine of them, so the threshold is the ninth highest, 2
  const y = [...Array(10).fill(true), ...Array(5).fill(false)];
  const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0.5, 1.5, 2.5, 3.5, 11];
  assert.equal(thresholdForSensitivity(y, s, 0.9), 2);
  assert.equal(thresholdRow(y, s, 2).sensitivity, 0.9);
  assert.ok(thresholdRow(y, s, 2.0001).sensitivity! < 0.9);
  assert.equal(thresholdForSensitivity([false], [1], 0.9), null);
});

test('logistic fit without penalty reproduces the closed form of a binary feature (group log-odds)', () => {
  // x = 0: 1 positive of 4 → logit(1/4); x = 1: 3 of 5 → logit(3/5)
  const X = matrix([[0], [0], [0], [0], [1], [1], [1], [1], [1]]);
  const y = [true, false, false, false, true, true, true, false, false];
  const m = fitLogistic(X, y, 0);
  assert.ok(m.converged);
  close(probability(predictLogit(m, [0])), 1 / 4, 1e-9, 'p(x=0)');
  close(probability(predictLogit(m, [1])), 3 / 5, 1e-9, 'p(x=1)');
});

test('logistic fit with L2 penalty matches an independent Newton solution (numpy) and the optimality conditions', () => {
  const rows = [[0.5, 1.2, -0.3], [1.5, -0.7, 0.8], [-0.2, 0.3, 1.1], [2.1, 1.9, -1.0], [0.0, -1.5, 0.4], [1.1, 0.8, 0.9], [-1.3, 0.2, -0.6], [0.7, -0.4, 2.0], [1.9, 1.1, 0.1], [-0.8, -0.9, -1.2], [0.3, 2.2, 0.5], [-1.7, 0.6, 1.4]];
  const y = [1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0].map((v) => v === 1);
  const m = fitLogistic(matrix(rows), y, 0.5);
  // Solved with numpy: features standardised by their mean and population standard deviation, Newton's method on
  // [1, Z] with the penalty 0.5·‖w‖²/2 on the weights only, iterated until steps fell below 1e-15.
  const expected = [0.20776020114, 1.818690072, 1.146659517405, -0.509050698178];
  close(m.intercept, expected[0], 1e-8, 'intercept');
  m.weights.forEach((w, j) => close(w, expected[j + 1], 1e-8, `w${j}`));
  // gradient of the penalised objective vanishes at the solution
  const z = rows.map((r) => r.map((v, j) => (v - m.mean[j]) / m.scale[j]));
  const p = rows.map((r) => probability(predictLogit(m, r)));
  close(p.reduce((a, pi, i) => a + pi - (y[i] ? 1 : 0), 0), 0, 1e-9, 'intercept gradient');
  for (let j = 0; j < 3; j++) close(p.reduce((a, pi, i) => a + (pi - (y[i] ? 1 : 0)) * z[i][j], 0) + 0.5 * m.weights[j], 0, 1e-9, `gradient ${j}`);
});

test('stratified folds: every fold holds its share of each class, and the same seed gives the same folds', () => {
  const y = [...Array(23).fill(true), ...Array(41).fill(false)];
  const f = stratifiedFolds(y, 5, 17);
  assert.deepEqual(f, stratifiedFolds(y, 5, 17));
  assert.notDeepEqual(f, stratifiedFolds(y, 5, 18));
  for (let k = 0; k < 5; k++) {
    const pos = y.filter((v, i) => v && f[i] === k).length;
    const all = f.filter((v) => v === k).length;
    assert.ok(pos >= 4 && pos <= 5, `fold ${k}: ${pos} positives`);
    assert.ok(all >= 12 && all <= 13, `fold ${k}: ${all} cases`);
  }
  assert.equal(foldCount([true, true, true, false, false]), 2);
});

test('cross-validation is deterministic, picks a strong penalty for noise and a weak one for signal', async () => {
  const rand = seededRandom(11);
  const n = 80;
  const d = 30;
  const noise: number[][] = [];
  const signal: number[][] = [];
  const y: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const pos = i % 2 === 0;
    y.push(pos);
    const r = Array.from({ length: d }, () => rand() * 2 - 1);
    noise.push(r);
    signal.push(r.map((v, j) => (j < 3 ? v + (pos ? 1.5 : -1.5) : v)));
  }
  const a = await crossValidate(matrix(noise), y);
  const b = await crossValidate(matrix(noise), y);
  assert.deepEqual(a.oofLogit, b.oofLogit);
  assert.equal(a.lambda, b.lambda);
  const s = await crossValidate(matrix(signal), y);
  assert.ok(s.lambda < a.lambda, `signal λ ${s.lambda} should be below noise λ ${a.lambda}`);
  const sAuc = aucWithInterval(y, s.oofLogit)!;
  assert.ok(sAuc.value > 0.95, `out-of-fold AUC with signal ${sAuc.value}`);
});
