import { test } from 'node:test';
import assert from 'node:assert/strict';
import { draftReport, findingsText, formatScore, joinList, parseSections, sectionsToText, techniqueText, zonePhrase } from './draft';
import { factsFingerprint, lesionKind, type ReportFinding } from './facts';
import { ACTIVE, OBSOLETE, facts, finding, image } from './testFacts';
import type { Side, Zone } from './zones';

test('lists, zone phrases and label kinds read naturally', () => {
  assert.equal(joinList([]), '');
  assert.equal(joinList(['a']), 'a');
  assert.equal(joinList(['a', 'b']), 'a and b');
  assert.equal(joinList(['a', 'b', 'c']), 'a, b and c');
  assert.equal(zonePhrase('right', ['upper']), 'right upper zone');
  assert.equal(zonePhrase('left', ['lower', 'upper', 'middle']), 'left upper, middle and lower zones');
  assert.equal(lesionKind('ActiveTuberculosis'), 'active');
  assert.equal(lesionKind('ObsoletePulmonaryTuberculosis'), 'obsolete');
  assert.equal(lesionKind('inactive TB'), 'obsolete');
  assert.equal(lesionKind('nodule'), 'other');
});

test('no finding, score below threshold: negative report, no lesion words, no confirmatory testing', () => {
  const d = draftReport(facts(image([], { score: 3.2 })));
  assert.equal(d.sections.findings, 'No tuberculosis-related lesion is marked in either lung.');
  assert.equal(d.sections.impression, 'No radiographic evidence of tuberculosis on the AI triage.');
  assert.match(d.sections.aiScore, /^3\.2 of 100, below the operating threshold of 9\.0 \(model cxr-tb-v1 1\.0\.0\)\.$/);
  assert.match(d.sections.recommendation, /No radiographic evidence of tuberculosis per the AI triage; clinical correlation/);
  assert.doesNotMatch(d.text, /Xpert|active|obsolete|cavit/i);
});

test('one active lesion: singular, located, and the other lung stated as unmarked', () => {
  const d = draftReport(facts(image([finding(ACTIVE, 'right', ['upper'])], { score: 72.4 })));
  assert.equal(d.sections.findings, 'One lesion with features of active tuberculosis in the right upper zone. No lesion is marked in the left lung.');
  assert.equal(d.sections.impression, 'Findings suggestive of active pulmonary tuberculosis in the right upper zone.');
  assert.match(d.sections.recommendation, /Xpert MTB\/RIF\) on sputum/);
  assert.match(d.sections.aiScore, /72\.4 of 100, at or above the operating threshold of 9\.0/);
});

test('several active lesions in several places: counts in words, grouped per lung and zone', () => {
  const fs = [finding(ACTIVE, 'right', ['upper']), finding(ACTIVE, 'left', ['lower']), finding(ACTIVE, 'right', ['upper']), finding(ACTIVE, 'left', ['upper', 'middle'])];
  const d = draftReport(facts(image(fs)));
  assert.equal(
    d.sections.findings,
    'Two lesions with features of active tuberculosis in the right upper zone, one in the left upper and middle zones and one in the left lower zone.',
  );
  assert.equal(d.sections.impression, 'Findings suggestive of active pulmonary tuberculosis in the right upper zone and the left upper, middle and lower zones.');
});

test('obsolete lesions only, below threshold: healed TB, correlation, no active claim', () => {
  const d = draftReport(facts(image([finding(OBSOLETE, 'left', ['upper']), finding(OBSOLETE, 'left', ['upper'])], { score: 4 })));
  assert.equal(d.sections.findings, 'Two obsolete (healed) tuberculous lesions in the left upper zone. No lesion is marked in the right lung.');
  assert.equal(d.sections.impression, 'Obsolete (healed) tuberculous changes in the left upper zone.');
  assert.match(d.sections.recommendation, /^Clinical correlation with the history and symptoms/);
  assert.doesNotMatch(d.text, /features of active|suggestive of active/);
});

test('obsolete lesions with a score above threshold: active disease not excluded, testing recommended', () => {
  const d = draftReport(facts(image([finding(OBSOLETE, 'right', ['middle'])], { score: 40 })));
  assert.equal(d.sections.impression, 'Obsolete (healed) tuberculous changes in the right middle zone. The AI TB score is at or above the operating threshold: active tuberculosis cannot be excluded radiographically.');
  assert.match(d.sections.recommendation, /Confirmatory testing/);
});

test('active and obsolete together', () => {
  const d = draftReport(facts(image([finding(OBSOLETE, 'left', ['upper']), finding(ACTIVE, 'right', ['lower'])])));
  assert.equal(d.sections.findings, 'One lesion with features of active tuberculosis in the right lower zone. One obsolete (healed) tuberculous lesion in the left upper zone.');
  assert.equal(d.sections.impression, 'Findings suggestive of active pulmonary tuberculosis in the right lower zone. Also obsolete (healed) tuberculous changes in the left upper zone.');
});

test('every proposal rejected: no lesion text at all, even with a high score', () => {
  const d = draftReport(facts(image([], { score: 91, rejected: 3 })));
  assert.equal(d.sections.findings, 'No tuberculosis-related lesion is marked in either lung.');
  assert.equal(d.sections.impression, 'No focal lesion is marked, but the AI TB score is at or above the operating threshold: tuberculosis cannot be excluded radiographically.');
  assert.doesNotMatch(d.text, /features of active|obsolete|zone/);
  assert.match(d.sections.recommendation, /Xpert/);
});

test('a reader label that is neither active nor obsolete is reported as labelled, not as TB', () => {
  const d = draftReport(facts(image([finding('nodule', 'right', ['lower'], { source: 'user', score: null, state: 'added' })], { score: 2 })));
  assert.equal(d.sections.findings, 'One lesion marked as "nodule" in the right lower zone. No lesion is marked in the left lung.');
  assert.equal(d.sections.impression, 'One marked finding ("nodule") in the right lower zone, not classified as active or obsolete tuberculosis.');
  assert.doesNotMatch(d.text, /active tuberculosis in|Xpert MTB\/RIF\) on sputum;/);
});

test('technique says only what the file says', () => {
  assert.equal(techniqueText(image([])), 'Frontal chest digital radiograph (DX); posteroanterior (PA) view.');
  assert.equal(techniqueText(image([], { view: 'AP', modality: 'CR' })), 'Frontal chest computed radiograph (CR); anteroposterior (AP) view.');
  assert.equal(techniqueText(image([], { view: null })), 'Frontal chest digital radiograph (DX); PA/AP view not stated.');
  assert.equal(
    techniqueText(image([], { view: null, modality: null, sourceFormat: 'png' })),
    'Frontal chest radiograph; PA/AP view not stated. Imported from a PNG file, without DICOM acquisition details.',
  );
});

test('no AI reading: the report says so and recommends nothing it cannot support', () => {
  const d = draftReport(facts(image([], { score: null })));
  assert.equal(d.sections.findings, 'No lesion is marked, and no AI reading is available for this image.');
  assert.equal(d.sections.aiScore, 'No AI reading is available for this image.');
  assert.doesNotMatch(d.text, /Xpert/);
});

test('a score that rounds onto the threshold is printed with two decimals', () => {
  assert.deepEqual(formatScore(8.96, 8.953532), ['8.96', '8.95']);
  assert.deepEqual(formatScore(12.34, 8.953532), ['12.3', '9.0']);
});

test('several images: one line per image', () => {
  const d = draftReport(facts(image([finding(ACTIVE, 'right', ['upper'])], { imageId: 1 }), image([], { imageId: 2, view: 'AP', score: 2 })));
  assert.match(d.sections.technique, /^Image 1: .*PA.*\nImage 2: .*AP/);
  assert.match(d.sections.findings, /^Image 1: One lesion.*\nImage 2: No tuberculosis-related lesion/);
});

test('sections survive text round trips; edited text without the headings has none', () => {
  const d = draftReport(facts(image([finding(ACTIVE, 'left', ['middle'])])));
  assert.deepEqual(parseSections(d.text), d.sections);
  assert.deepEqual(parseSections(sectionsToText({ ...d.sections, impression: 'Edited\nover two lines.' }))?.impression, 'Edited\nover two lines.');
  assert.equal(parseSections('Free text report.'), null);
  assert.equal(parseSections(d.text.replace('IMPRESSION', 'SUMMARY')), null);
});

/** Every combination of up to three findings over kinds, lungs and zones, with scores either side of the threshold. */
function* combinations(): Generator<{ fs: ReportFinding[]; score: number }> {
  const kinds = [ACTIVE, OBSOLETE, 'nodule'];
  const places: [Side, Zone[]][] = [['right', ['upper']], ['left', ['lower']], ['left', ['upper', 'middle']], ['right', ['middle']]];
  const singles = kinds.flatMap((k) => places.map(([s, z]) => [k, s, z] as const));
  for (const score of [1, 50]) {
    yield { fs: [], score };
    for (let a = 0; a < singles.length; a++) {
      yield { fs: [finding(...singles[a])], score };
      for (let b = a; b < singles.length; b++) {
        yield { fs: [finding(...singles[a]), finding(...singles[b])], score };
        for (let c = b; c < singles.length; c += 3) yield { fs: [finding(...singles[a]), finding(...singles[b]), finding(...singles[c])], score };
      }
    }
  }
}

test('over every combination: grammar agrees, nothing unsupported is said, and drafting is deterministic', () => {
  let n = 0;
  for (const { fs, score } of combinations()) {
    n++;
    const d = draftReport(facts(image(fs, { score })));
    const t = d.text;
    assert.doesNotMatch(t, /\b[Oo]ne (obsolete \(healed\) tuberculous )?lesions\b/, t);
    assert.doesNotMatch(t, /\b([Tt]wo|[Tt]hree) (obsolete \(healed\) tuberculous )?lesion\b/, t);
    assert.doesNotMatch(t, /cavit|  |\.\.|undefined|NaN/, t);
    if (!fs.some((f) => f.kind === 'active')) assert.doesNotMatch(t, /features of active|suggestive of active/, t);
    if (!fs.some((f) => f.kind === 'obsolete')) assert.doesNotMatch(t.replaceAll('not classified as active or obsolete tuberculosis', ''), /obsolete/, t);
    if (!fs.length) assert.doesNotMatch(d.sections.findings, /zone/, t);
    for (const side of ['right', 'left'] as const) {
      const marked = fs.some((f) => f.side === side);
      assert.equal(d.sections.findings.includes(`No lesion is marked in the ${side} lung.`), fs.length > 0 && !marked, t);
    }
    assert.equal(/Xpert MTB\/RIF\) on sputum;/.test(d.sections.recommendation), score >= 8.953532 || fs.some((f) => f.kind === 'active'), t);
    // the same facts in another order give the same words
    assert.equal(draftReport(facts(image([...fs].reverse(), { score }))).text, t);
  }
  assert.ok(n > 300, `${n} combinations`);
});

test('the findings fingerprint follows what the report says, not where a box sits inside its zone', () => {
  const f = finding(ACTIVE, 'right', ['upper']);
  const base = factsFingerprint(facts(image([f])));
  assert.equal(factsFingerprint(facts(image([{ ...f, box: { x: 1, y: 2, w: 3, h: 4 } }]))), base);
  assert.notEqual(factsFingerprint(facts(image([{ ...f, zones: ['middle'] }]))), base);
  assert.notEqual(factsFingerprint(facts(image([{ ...f, label: OBSOLETE, kind: 'obsolete' }]))), base);
  assert.notEqual(factsFingerprint(facts(image([]))), base);
  assert.notEqual(factsFingerprint(facts(image([f], { score: 51 }))), base);
});

test('findingsText lists reader labels separately and sorted', () => {
  const t = findingsText(image([finding('nodule', 'right', ['upper']), finding('fibrosis', 'right', ['lower'])]));
  assert.equal(t, 'One lesion marked as "fibrosis" in the right lower zone. One lesion marked as "nodule" in the right upper zone. No lesion is marked in the left lung.');
});
