import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerQuestion, editDistance, matchWord, parseQuestion } from './vqa';
import { ACTIVE, OBSOLETE, finding, image } from './testFacts';

test('edit distance counts a transposition as one edit', () => {
  assert.equal(editDistance('lung', 'lung'), 0);
  assert.equal(editDistance('rigth', 'right'), 1);
  assert.equal(editDistance('lesoin', 'lesion'), 1);
  assert.equal(editDistance('tuberculossis', 'tuberculosis'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('abc', 'xyz', 1), 2);
});

test('word matching: typos land on the word, short and common words stay themselves', () => {
  assert.equal(matchWord('lefft')?.word, 'left');
  assert.equal(matchWord('rihgt')?.word, 'right');
  assert.equal(matchWord('might')?.meaning, null);
  assert.equal(matchWord('felt')?.meaning, null);
  assert.equal(matchWord('based')?.meaning, null);
  assert.equal(matchWord('tv'), null); // two letters: exact only
  assert.equal(matchWord('pacemakr')?.word, 'pacemaker');
});

const cases: [string, string][] = [
  // is there TB
  ['Is there TB?', 'tb'],
  ['is there tuberculosis', 'tb'],
  ['Does this patient have tuberculosis?', 'tb'],
  ['any signs of TB?', 'tb'],
  ['is this tb positive', 'tb'],
  ['Is there evidence of tubercolosis in this x-ray?', 'tb'],
  ['tb?', 'tb'],
  ['Are there any lesions?', 'tb'],
  ['Is the chest x-ray abnormal?', 'tb'],
  ['Based on the image, is there TB?', 'tb'],
  ['Is there any abnormality?', 'tb'],
  ['Is the image normal?', 'normal'],
  ['is this xray normal', 'normal'],
  ['Is it TB negative?', 'normal'],
  // sides
  ['Is the left lung affected?', 'side:left'],
  ['is the lefft lung afected?', 'side:left'],
  ['Is there TB in the left lung?', 'side:left'],
  ['Does the right lung have lesions?', 'side:right'],
  ['rigth lung involved?', 'side:right'],
  ['Is the right side affected?', 'side:right'],
  ['Are both lungs affected?', 'side:both'],
  ['Is the disease bilateral?', 'side:both'],
  ['Are the left and right lungs involved?', 'side:both'],
  ['Is the left lung clear?', 'side:left:clear'],
  // zones
  ['Is the upper zone affected?', 'zone:upper'],
  ['Is the uper zone afected', 'zone:upper'],
  ['is there anything in the middle zone', 'zone:middle'],
  ['Is the lower zone involved?', 'zone:lower'],
  ['Is the right upper zone affected?', 'zone:upper:right'],
  ['Any lesion at the left base?', 'zone:lower:left'],
  ['Is the apex involved?', 'zone:upper'],
  ['Is the right upper lobe involved?', 'zone:upper:right'],
  ['is the midle zone clear', 'zone:middle:clear'],
  // lesion kind
  ['Is the lesion active?', 'active'],
  ['Is it active TB?', 'active'],
  ['is the lesion actve', 'active'],
  ['Is the lesion old?', 'obsolete'],
  ['Is it healed TB?', 'obsolete'],
  ['Is this obsolete tuberculosis?', 'obsolete'],
  ['is the lesion obsolette', 'obsolete'],
  ['Is there active TB in the right lung?', 'active'],
  ['Is the lesion active or obsolete?', 'type'],
  ['What type of lesion is it?', 'type'],
  ['What kind of TB is this?', 'type'],
  // open
  ['Where is the lesion?', 'where'],
  ['wher is the lesoin', 'where'],
  ['Which lung is affected?', 'where'],
  ['Which side is affected?', 'where'],
  ['Where are the TB lesions located?', 'where'],
  ['How many lesions are there?', 'count'],
  ['how many lessions', 'count'],
  ['What is the number of lesions?', 'count'],
  ['How many active lesions in the left lung?', 'count'],
  ['What is the TB score?', 'score'],
  ['whats the tb scroe', 'score'],
  ['What is the probability of TB?', 'score'],
  ['How likely is TB?', 'score'],
  ['How sure is the model?', 'confidence'],
  ['How confident is the AI?', 'confidence'],
  ['how certian are you', 'confidence'],
  ['What is the confidence?', 'confidence'],
  ['What part of the lung is affected?', 'where'],
  ['How much of the lung is involved?', 'where'],
  // summary and next step
  ['Summarise the findings', 'summary'],
  ['What is the diagnosis?', 'summary'],
  ['What is wrong with this x-ray?', 'summary'],
  ['Should the patient be tested with Xpert?', 'recommendation'],
  ['What is the recommended next step?', 'recommendation'],
  ['Can you confirm TB?', 'tb'],
  ['Is the rest of the lung clear?', 'normal'],
  // out of scope
  ['Should we start treatment?', 'unsupported:treatment'],
  ['Is there a fracture?', 'unsupported:fracture'],
  ['any rib fractures?', 'unsupported:fracture'],
  ['Does the patient have a pacemaker?', 'unsupported:device'],
  ['is there a pacemakr', 'unsupported:device'],
  ['Is the endotracheal tube in place?', 'unsupported:device'],
  ['How big is the nodule?', 'unsupported:size'],
  ['What is the size of the lesion?', 'unsupported:size'],
  ['Is there a lung nodule?', 'unsupported:nodule'],
  ['Is there cancer?', 'unsupported:nodule'],
  ['Is the heart enlarged?', 'unsupported:heart'],
  ['Is there cardiomegaly?', 'unsupported:heart'],
  ['Is there a pleural effusion?', 'unsupported:effusion'],
  ['Is there a pneumothorax?', 'unsupported:pneumothorax'],
  ['Is this covid pneumonia?', 'unsupported:otherDisease'],
  ['Is there a cavity?', 'unsupported:cavity'],
  ['Is the lesion calcified?', 'unsupported:calcification'],
  ['How old is the patient?', 'unsupported:patient'],
  ['Has it changed since the last scan?', 'unsupported:comparison'],
  ['What is the weather today?', 'unknown'],
  ['', 'unknown'],
];

function key(q: string): string {
  const i = parseQuestion(q).intent;
  switch (i.kind) {
    case 'side':
      return `side:${i.side}${i.clear ? ':clear' : ''}`;
    case 'zone':
      return `zone:${i.zone}${i.side ? `:${i.side}` : ''}${i.clear ? ':clear' : ''}`;
    case 'unsupported':
      return `unsupported:${i.topic}`;
    default:
      return i.kind;
  }
}

test(`the parser places ${cases.length} phrasings, paraphrases and typos`, () => {
  const wrong = cases.filter(([q, want]) => key(q) !== want).map(([q, want]) => `${JSON.stringify(q)}: got ${key(q)}, want ${want}`);
  assert.deepEqual(wrong, []);
});

test('question types: closed, open, unsupported', () => {
  assert.equal(parseQuestion('Is the left lung affected?').type, 'closed');
  assert.equal(parseQuestion('Where is the lesion?').type, 'open');
  assert.equal(parseQuestion('Is there a fracture?').type, 'unsupported');
  assert.equal(parseQuestion('blah blah').type, 'unsupported');
});

const rightUpperActive = image([finding(ACTIVE, 'right', ['upper']), finding(ACTIVE, 'right', ['upper', 'middle']), finding(OBSOLETE, 'left', ['lower'])], { score: 63.1 });
const clean = image([], { score: 2.5 });

test('closed answers begin with Yes or No and rest on the findings they name', () => {
  const a = answerQuestion(rightUpperActive, 'Is the left lung affected?');
  assert.equal(a.type, 'closed');
  assert.match(a.answer, /^Yes: the left lung has one obsolete \(healed\) tuberculous lesion in the left lower zone\.$/);
  assert.deepEqual(a.evidence.findings.map((f) => f.side), ['left']);
  assert.deepEqual(a.evidence.zones, [{ side: 'left', zone: 'lower' }]);

  const r = answerQuestion(rightUpperActive, 'is the rigth lung involved');
  assert.match(r.answer, /^Yes: the right lung has two lesions with features of active tuberculosis in the right upper and middle zones\.$/);

  assert.match(answerQuestion(clean, 'Is the left lung affected?').answer, /^No: no lesion is marked in the left lung\.$/);
  assert.match(answerQuestion(rightUpperActive, 'Is the middle zone affected?').answer, /^Yes: the middle zone of either lung has one lesion/);
  assert.match(answerQuestion(rightUpperActive, 'Is the left upper zone affected?').answer, /^No: no lesion is marked in the left upper zone \(the marked lesions are in the right upper and middle zones and the left lower zone\)\.$/);
  assert.match(answerQuestion(rightUpperActive, 'Are both lungs affected?').answer, /^Yes: both lungs/);
  assert.match(answerQuestion(image([finding(ACTIVE, 'right', ['upper'])]), 'Are both lungs affected?').answer, /^No: only the right lung/);
  assert.match(answerQuestion(rightUpperActive, 'Is the left lung clear?').answer, /^No: the left lung has/);
  assert.match(answerQuestion(clean, 'Is the left lung clear?').answer, /^Yes: no lesion is marked in the left lung/);
});

test('is there TB: lesions or a score at or above the threshold say yes, with the score as evidence', () => {
  const y = answerQuestion(rightUpperActive, 'is there tb?');
  assert.match(y.answer, /^Yes: three lesions .* are marked, and the AI TB score is 63\.1 of 100, at or above the operating threshold of 9\.0\.$/);
  assert.equal(y.evidence.tbScore, 63.1);
  assert.equal(y.evidence.findings.length, 3);
  const n = answerQuestion(clean, 'Does the patient have tuberculosis?');
  assert.equal(n.answer, 'No: no lesion is marked and the AI TB score is 2.5 of 100, below the operating threshold of 9.0.');
  const onlyScore = answerQuestion(image([], { score: 40, rejected: 2 }), 'any TB?');
  assert.match(onlyScore.answer, /^Yes: the AI TB score is 40\.0 .* though no focal lesion is marked\.$/);
  assert.match(answerQuestion(clean, 'Is the image normal?').answer, /^Yes, as far as tuberculosis is concerned/);
  assert.match(answerQuestion(rightUpperActive, 'Is the image normal?').answer, /^No, as far as tuberculosis is concerned/);
});

test('active and obsolete questions, also restricted to a lung', () => {
  assert.match(answerQuestion(rightUpperActive, 'Is the lesion active?').answer, /^Yes: two lesions with features of active tuberculosis in the right upper and middle zones\.$/);
  assert.match(answerQuestion(rightUpperActive, 'Is it old TB?').answer, /^Yes: one obsolete \(healed\) tuberculous lesion in the left lower zone\.$/);
  assert.match(answerQuestion(rightUpperActive, 'Is there active TB in the left lung?').answer, /^No: none of the marked lesions in the left lung is classified as active/);
  assert.match(answerQuestion(clean, 'Is the lesion active?').answer, /^No: no lesion is marked\.$/);
  const onlyOld = image([finding(OBSOLETE, 'right', ['upper'])], { score: 3 });
  assert.match(answerQuestion(onlyOld, 'is the lesion active').answer, /^No: none of the marked lesions is classified as active; there is one obsolete \(healed\) tuberculous lesion in the right upper zone\.$/);
});

test('open answers: where, how many, score, confidence, type', () => {
  assert.equal(answerQuestion(rightUpperActive, 'Where is the lesion?').answer, 'Three lesions (two with features of active tuberculosis and one obsolete (healed)) in the right upper and middle zones and the left lower zone.');
  assert.match(answerQuestion(clean, 'where is the lesion').answer, /^No lesion is marked, so there is no location to give/);
  assert.equal(answerQuestion(rightUpperActive, 'How many lesions?').answer, '3 lesions: two with features of active tuberculosis and one obsolete (healed), in the right upper and middle zones and the left lower zone.');
  assert.equal(answerQuestion(rightUpperActive, 'how many active lesions in the left lung').answer, 'None: no lesion with features of active tuberculosis in the left lung is marked.');
  assert.equal(answerQuestion(clean, 'how many lesions').answer, 'None: no lesion is marked.');
  assert.equal(answerQuestion(rightUpperActive, 'What is the TB score?').answer, 'The AI TB score is 63.1 of 100, at or above the operating threshold of 9.0 (model cxr-tb-v1 1.0.0).');
  const c = answerQuestion(rightUpperActive, 'How sure is the model?');
  assert.equal(c.type, 'open');
  assert.match(c.answer, /^The AI TB score is 63\.1 .*, so the model flags this image for tuberculosis\. Its confidence in the marked boxes: 0\.80 for the active lesion in the right upper zone, /);
  assert.match(answerQuestion(image([], { score: null }), 'what is the tb score').answer, /^No AI reading is available/);
  assert.match(answerQuestion(rightUpperActive, 'what type of lesion').answer, /^Two with features of active tuberculosis and one obsolete \(healed\), in /);
});

test('summary and recommendation answers rest on the findings and the score', () => {
  const s = answerQuestion(rightUpperActive, 'Summarise the findings');
  assert.equal(s.type, 'open');
  assert.match(s.answer, /^The AI TB score is 63\.1 of 100, at or above the operating threshold of 9\.0; three lesions .* are marked\. This is the AI reading with the reader's corrections, not a diagnosis\.$/);
  assert.match(answerQuestion(rightUpperActive, 'Should the patient be tested with Xpert?').answer, /^Confirmatory testing for tuberculosis is recommended/);
  assert.match(answerQuestion(clean, 'what next?').answer, /^No radiographic evidence of tuberculosis per the AI triage/);
});

test('out-of-scope questions are declined, never answered yes or no', () => {
  for (const q of ['Is there a fracture?', 'Does the patient have a pacemaker?', 'How big is the nodule?', 'Is the heart enlarged?', 'Is there a cavity?', 'what is the meaning of life']) {
    const a = answerQuestion(rightUpperActive, q);
    assert.equal(a.type, 'unsupported', q);
    assert.match(a.answer, /^The model does not assess/, q);
    assert.deepEqual(a.evidence.findings, [], q);
  }
});
