import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleu, lcsLength, rougeL, rougeLSentence, tokenizeForMetrics as tok } from './textMetrics';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} is not ${b}`);

test('tokenisation: lower case, words of letters and digits, punctuation dropped', () => {
  assert.deepEqual(tok('PTB in the Left upper-field, 55yrs.'), ['ptb', 'in', 'the', 'left', 'upper', 'field', '55yrs']);
  assert.deepEqual(tok('  ...  '), []);
});

test('BLEU of a hypothesis equal to its reference is 1', () => {
  const s = tok('secondary PTB in the right upper field');
  const r = bleu([s], [[s]]);
  close(r.bleu, 1);
  assert.deepEqual(r.precisions, [1, 1, 1, 1]);
});

test('BLEU: modified precision clips repeated words (Papineni et al.: "the the the ..." scores 2/7)', () => {
  const r = bleu([tok('the the the the the the the')], [[tok('the cat is on the mat')]], 1);
  close(r.precisions[0], 2 / 7);
});

test('BLEU: hand-computed precisions, geometric mean and zero without 4-gram matches', () => {
  const h = tok('the cat sat on the mat');
  const ref = tok('the cat is on the mat');
  const r4 = bleu([h], [[ref]]);
  close(r4.precisions[0], 5 / 6);
  close(r4.precisions[1], 3 / 5);
  close(r4.precisions[2], 1 / 4);
  close(r4.precisions[3], 0);
  assert.equal(r4.bleu, 0);
  // BLEU-3 = (5/6 * 3/5 * 1/4)^(1/3) = 0.125^(1/3) = 0.5
  close(bleu([h], [[ref]], 3).bleu, 0.5);
});

test('BLEU: brevity penalty exp(1 - r/c) for a short hypothesis', () => {
  const r = bleu([tok('the cat')], [[tok('the cat is on the mat')]], 2);
  close(r.brevityPenalty, Math.exp(1 - 6 / 2));
  close(r.bleu, Math.exp(-2));
});

test('BLEU is a corpus statistic: n-gram counts are summed before the mean', () => {
  const a = tok('a b c d');
  const b = tok('w x y z');
  // one perfect and one disjoint sentence: every precision is 1/2, BP 1, BLEU 1/2 (not the mean of 1 and 0)
  close(bleu([a, b], [[a], [tok('p q r s')]]).bleu, 0.5);
});

test('BLEU with several references clips against the most generous one and takes the closest length', () => {
  const r = bleu([tok('left upper PTB')], [[tok('PTB'), tok('left upper PTB here')]], 1);
  close(r.precisions[0], 1);
  assert.equal(r.referenceLength, 4);
  close(r.brevityPenalty, Math.exp(1 - 4 / 3));
});

test('BLEU refuses mismatched inputs', () => {
  assert.throws(() => bleu([tok('a')], []), /1 hypotheses but 0/);
});

test('LCS and ROUGE-L on hand-made cases', () => {
  assert.equal(lcsLength(tok('police killed the gunman'), tok('police kill the gunman')), 3);
  close(rougeLSentence(tok('police killed the gunman'), [tok('police kill the gunman')]), 0.75);
  close(rougeLSentence(tok('the cat sat on the mat'), [tok('the cat is on the mat')]), 5 / 6);
  // P = 1, R = 1/2, beta 1.2: (1 + 1.44) * 0.5 / (0.5 + 1.44) = 1.22 / 1.94
  close(rougeLSentence(tok('a b c'), [tok('a b c d e f')]), 1.22 / 1.94);
  assert.equal(rougeLSentence(tok('x y'), [tok('a b')]), 0);
  assert.equal(rougeLSentence([], [tok('a b')]), 0);
  close(rougeL([tok('a b c'), tok('x')], [[tok('a b c')], [tok('y')]]), 0.5);
});
