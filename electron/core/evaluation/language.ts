// Language evaluation for `cxr eval`: how the drafted reports compare with the clinical readings that come with a
// data set (BLEU-4 and ROUGE-L; the Shenzhen set has one per image), and how often closed questions about the
// image are answered right, with questions generated from the ground truth (TB label, lesion boxes and their types,
// lungs and zones). Both are computed from the model's own findings, with no reader in the loop: the boxes the
// station would propose (score >= the pack's display threshold) and their zones from the model's lung outlines.
import { factsFromReading, type ModelReading } from '../reporting/reading';
import { answerQuestion } from '../reporting/vqa';
import { bleu, rougeL, tokenizeForMetrics, METRIC_TOKENISATION } from '../reporting/textMetrics';
import { ZONES, assignZone, lungFieldFromPolygons, type LungField, type Side, type Zone } from '../reporting/zones';
import { isTbPositive, lesionKind, type ImageFacts } from '../reporting/facts';
import { capitalize, draftReport } from '../reporting/draft';

type Pt = [number, number];

export interface LanguageItem {
  id: string;
  source: string;
  label: string;
  /** the data set's clinical reading, when it has one (Shenzhen: "male 55yrs / PTB in the left upper field") */
  clinicalReading: string | null;
  gtBoxes: { x0: number; y0: number; x1: number; y1: number; cls: string }[];
  /** the data set's lung outlines (patient side), when it has them */
  gtLungs: { right?: Pt[] | null; left?: Pt[] | null } | null;
  modelReading: ModelReading;
}

/** The paper's figures, printed beside ours. */
export const PAPER = { bleu4: 0.413, closedAccuracy: 0.9895 };

/** The findings part of a Shenzhen reading: what follows "sex age /" ("male 55yrs / PTB in the left upper field"). */
export function readingFindings(reading: string): string {
  const i = reading.indexOf('/');
  return (i >= 0 ? reading.slice(i + 1) : reading).trim();
}

/**
 * A one-line summary of the same findings in the readings' own convention ("normal", "PTB in the right upper field",
 * "bilateral PTB"), scored beside the draft to separate what the findings say from how the draft words it. It is an
 * evaluation aid only; the station's reports use the draft's wording.
 */
export function readingStyleSummary(im: ImageFacts): string {
  const fs = im.findings;
  if (!fs.length) return isTbPositive(im.ai) ? 'PTB' : 'normal';
  const prefix = fs.every((f) => f.kind === 'obsolete') ? 'Old PTB' : 'PTB';
  const sides = new Set(fs.map((f) => f.side));
  const zones = ZONES.filter((z) => fs.some((f) => f.zones.includes(z)));
  const where = sides.size === 2 ? 'bilateral' : [...sides][0];
  return zones.length === 1 ? `${prefix} in the ${where} ${zones[0]} field` : sides.size === 2 ? `bilateral ${prefix}` : `${capitalize(where)} ${prefix}`;
}

function metrics(hyps: string[], refs: string[]) {
  const h = hyps.map(tokenizeForMetrics);
  const r = refs.map((x) => [tokenizeForMetrics(x)]);
  const b = bleu(h, r, 4);
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  return { bleu4: r4(b.bleu), bleu1: r4(bleu(h, r, 1).bleu), precisions: b.precisions.map(r4), brevityPenalty: r4(b.brevityPenalty), hypothesisTokens: b.hypothesisLength, referenceTokens: b.referenceLength, rougeL: r4(rougeL(h, r)) };
}

export interface ClosedQuestion {
  /** the kind of fact asked about */
  kind: 'tb' | 'left' | 'right' | 'upper' | 'middle' | 'lower' | 'active' | 'obsolete';
  question: string;
  truth: boolean;
}

/** Phrasings per question kind; each image gets one of them (by its position), so that paraphrases are exercised too. */
const PHRASINGS: Record<ClosedQuestion['kind'], string[]> = {
  tb: ['Is there TB?', 'Does this patient have tuberculosis?', 'Any signs of TB on this x-ray?', 'is there tuberculossis'],
  left: ['Is the left lung affected?', 'Are there lesions in the left lung?', 'is the lefft lung involved'],
  right: ['Is the right lung affected?', 'Does the right lung have lesions?', 'is the rigth lung involved'],
  upper: ['Is the upper zone affected?', 'Is there a lesion in the upper zone?', 'is the uper zone involved'],
  middle: ['Is the middle zone affected?', 'Is there a lesion in the mid zone?', 'is the midle zone involved'],
  lower: ['Is the lower zone affected?', 'Is there a lesion in the lower zone?', 'is the lowr zone involved'],
  active: ['Is the lesion active?', 'Is there active TB?', 'is the lesion actve'],
  obsolete: ['Is the lesion obsolete?', 'Is it old, healed TB?', 'is the lesion obsolette'],
};

/**
 * Closed questions with known answers for one image: "is there TB" always; where the lesions are known (boxes, or
 * a normal image, which has none), which lungs and zones they touch and whether any is active or obsolete. Lungs
 * for the zones: the data set's outlines where it has them, else the model's (TBX11K has boxes but no lung masks).
 */
export function groundTruthQuestions(it: LanguageItem, index: number, modelLungs: LungField): { questions: ClosedQuestion[]; zoneReference: 'dataset_lungs' | 'model_lungs' | null } {
  const pick = (k: ClosedQuestion['kind']) => PHRASINGS[k][index % PHRASINGS[k].length];
  const questions: ClosedQuestion[] = [{ kind: 'tb', question: pick('tb'), truth: it.label === 'tb' }];
  const lesionsKnown = it.gtBoxes.length > 0 || it.label === 'normal';
  if (!lesionsKnown) return { questions, zoneReference: null };
  const hasGtLungs = !!(it.gtLungs?.right?.length && it.gtLungs?.left?.length);
  const field = hasGtLungs ? lungFieldFromPolygons(it.modelReading.image.width, it.modelReading.image.height, it.gtLungs) : modelLungs;
  const placed = it.gtBoxes.map((b) => ({ kind: lesionKind(b.cls), ...assignZone({ x: b.x0, y: b.y0, w: b.x1 - b.x0, h: b.y1 - b.y0 }, field) }));
  const side = (s: Side) => placed.some((p) => p.side === s);
  const zone = (z: Zone) => placed.some((p) => p.zones.includes(z));
  questions.push(
    { kind: 'left', question: pick('left'), truth: side('left') },
    { kind: 'right', question: pick('right'), truth: side('right') },
    { kind: 'upper', question: pick('upper'), truth: zone('upper') },
    { kind: 'middle', question: pick('middle'), truth: zone('middle') },
    { kind: 'lower', question: pick('lower'), truth: zone('lower') },
    { kind: 'active', question: pick('active'), truth: placed.some((p) => p.kind === 'active') },
    { kind: 'obsolete', question: pick('obsolete'), truth: placed.some((p) => p.kind === 'obsolete') },
  );
  return { questions, zoneReference: it.gtBoxes.length ? (hasGtLungs ? 'dataset_lungs' : 'model_lungs') : null };
}

export interface LanguageReport {
  displayScore: number;
  reports: {
    n: number;
    tokenisation: string;
    reference: string;
    /** the draft's impression sentence against the reading's findings part */
    impression: ReturnType<typeof metrics>;
    /** the whole draft (all sections, headings included) against the same */
    fullDraft: ReturnType<typeof metrics>;
    /** the same findings as a one-line summary in the readings' convention (an evaluation aid, see readingStyleSummary) */
    readingStyleSummary: ReturnType<typeof metrics>;
    paper: { bleu4: number };
    examples: { id: string; reference: string; impression: string; summary: string }[];
  } | null;
  vqa: {
    n: number;
    images: number;
    accuracy: number | null;
    /** answers that did not begin with "Yes" or "No" (counted wrong) */
    notYesNo: number;
    byKind: Record<string, { n: number; accuracy: number | null; positives: number }>;
    bySource: Record<string, { n: number; accuracy: number | null }>;
    zoneReference: { dataset_lungs: number; model_lungs: number };
    paper: { closedAccuracy: number };
    note: string;
  } | null;
}

/** Report and question metrics over the evaluated images. */
export function evaluateLanguage(items: LanguageItem[], displayScore: number): LanguageReport {
  const withReading = items.filter((it) => it.clinicalReading);
  let reports: LanguageReport['reports'] = null;
  if (withReading.length) {
    const refs = withReading.map((it) => readingFindings(it.clinicalReading!));
    const facts = withReading.map((it) => factsFromReading(it.modelReading, { sourceFormat: 'png', minBoxScore: displayScore }));
    const drafts = facts.map((f) => draftReport({ caseId: 0, images: [f] }));
    const summaries = facts.map(readingStyleSummary);
    reports = {
      n: withReading.length,
      tokenisation: METRIC_TOKENISATION,
      reference: 'the clinical reading\'s findings part (after "sex age /"), one reference per image',
      impression: metrics(drafts.map((d) => d.sections.impression), refs),
      fullDraft: metrics(drafts.map((d) => d.text), refs),
      readingStyleSummary: metrics(summaries, refs),
      paper: { bleu4: PAPER.bleu4 },
      // a few of each label, in file order
      examples: withReading
        .map((it, i) => ({ it, i }))
        .filter(({ it }, k, all) => all.slice(0, k).filter((o) => o.it.label === it.label).length < 3)
        .map(({ it, i }) => ({ id: it.id, reference: refs[i], impression: drafts[i].sections.impression, summary: summaries[i] })),
    };
  }
  const byKind: Record<string, { n: number; right: number; positives: number }> = {};
  const bySource: Record<string, { n: number; right: number }> = {};
  const zoneReference = { dataset_lungs: 0, model_lungs: 0 };
  let n = 0;
  let right = 0;
  let notYesNo = 0;
  let images = 0;
  items.forEach((it, index) => {
    const facts = factsFromReading(it.modelReading, { sourceFormat: 'png', minBoxScore: displayScore });
    const { questions, zoneReference: ref } = groundTruthQuestions(it, index, lungFieldFromPolygons(it.modelReading.image.width, it.modelReading.image.height, it.modelReading.lungs));
    if (ref) zoneReference[ref]++;
    images++;
    for (const q of questions) {
      const a = answerQuestion(facts, q.question);
      const yes = /^yes\b/i.test(a.answer);
      const no = /^no\b/i.test(a.answer);
      if (!yes && !no) notYesNo++;
      const ok = (yes && q.truth) || (no && !q.truth);
      n++;
      if (ok) right++;
      const k = (byKind[q.kind] ??= { n: 0, right: 0, positives: 0 });
      k.n++;
      if (ok) k.right++;
      if (q.truth) k.positives++;
      const s = (bySource[it.source] ??= { n: 0, right: 0 });
      s.n++;
      if (ok) s.right++;
    }
  });
  const acc = (r: number, t: number) => (t ? Math.round((r / t) * 1e4) / 1e4 : null);
  const vqa: LanguageReport['vqa'] = n
    ? {
        n,
        images,
        accuracy: acc(right, n),
        notYesNo,
        byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, { n: v.n, accuracy: acc(v.right, v.n), positives: v.positives }])),
        bySource: Object.fromEntries(Object.entries(bySource).map(([k, v]) => [k, { n: v.n, accuracy: acc(v.right, v.n) }])),
        zoneReference,
        paper: { closedAccuracy: PAPER.closedAccuracy },
        note: 'questions generated from the ground truth (TB label for every image; lungs, zones and lesion types where the boxes are known or the image is normal), asked in rotating phrasings with typos, answered by the station\'s parser from the model\'s findings',
      }
    : null;
  return { displayScore, reports, vqa };
}
