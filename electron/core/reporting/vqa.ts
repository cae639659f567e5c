// Questions about an image, answered from its current findings (./facts.ts): closed questions answered "Yes" or
// "No" (is there TB, is the left lung / the upper zone affected, is a lesion active or obsolete), open ones (where,
// how many, what score, how sure), and an honest refusal for what the model does not read (fractures, devices,
// nodule sizes, the heart...). The parser maps each word to the nearest word of a small vocabulary by edit distance
// (transpositions count as one edit), so paraphrases and typos land on the same question; it never guesses an
// answer for a question it cannot place.
import { formatScore, joinList, kindNoun, locationPhrase, numberWord, plural, capitalize, recommendationText, zonePhrase } from './draft';
import { isTbPositive, thresholdOrigin, type ImageFacts, type LesionKind, type ReportFinding } from './facts';
import type { Side, Zone } from './zones';

export type AnswerType = 'closed' | 'open' | 'unsupported';

export type Concept =
  | 'tb' | 'lesion' | 'disease' | 'normal' | 'abnormal'
  | 'left' | 'right' | 'both' | 'upper' | 'middle' | 'lower' | 'lung' | 'zone'
  | 'active' | 'obsolete' | 'where' | 'which' | 'count' | 'number' | 'score' | 'confidence' | 'likely' | 'type'
  | 'what' | 'how' | 'aux' | 'or' | 'summary' | 'recommend';

/** Out-of-scope topics, as the refusal names them. */
const TOPICS = {
  fracture: 'fractures or other bone findings',
  device: 'devices, tubes or lines (such as a pacemaker)',
  nodule: 'nodules or masses',
  size: 'sizes or measurements',
  heart: 'the heart or its size',
  effusion: 'pleural effusion',
  pneumothorax: 'pneumothorax',
  otherDisease: 'diseases other than tuberculosis',
  cavity: 'cavitation',
  calcification: 'calcification',
  patient: 'the patient\'s details (age, sex)',
  treatment: 'treatment decisions',
  comparison: 'change over time or comparison with earlier images',
  structures: 'the mediastinum, hila or diaphragm',
} as const;
export type Topic = keyof typeof TOPICS;

type Meaning = { concept: Concept } | { topic: Topic } | null;

const CONCEPT_WORDS: Record<Concept, string[]> = {
  tb: ['tb', 'tuberculosis', 'tuberculous', 'ptb', 'stb', 'koch', 'kochs', 'mtb', 'consumption', 'tubercular'],
  lesion: ['lesion', 'lesions', 'finding', 'findings', 'abnormality', 'abnormalities', 'opacity', 'opacities', 'infiltrate', 'infiltrates', 'infiltration', 'spot', 'spots', 'shadow', 'shadows', 'patch', 'patches', 'focus', 'foci', 'box', 'boxes'],
  disease: ['disease', 'infection', 'infected', 'sick', 'positive', 'involvement', 'involved', 'affected', 'affect', 'affects', 'diseased', 'signs', 'sign', 'evidence'],
  normal: ['normal', 'healthy', 'clear', 'clean', 'negative', 'unremarkable', 'free'],
  abnormal: ['abnormal', 'pathological', 'pathology'],
  left: ['left', 'lt'],
  right: ['right', 'rt'],
  both: ['both', 'bilateral', 'bilaterally', 'sides'],
  upper: ['upper', 'top', 'apex', 'apical', 'apices', 'superior', 'uppermost'],
  middle: ['middle', 'mid', 'central', 'midzone'],
  lower: ['lower', 'bottom', 'base', 'basal', 'bases', 'inferior', 'lowest'],
  lung: ['lung', 'lungs', 'hemithorax', 'side', 'chest'],
  zone: ['zone', 'zones', 'field', 'fields', 'lobe', 'lobes', 'region', 'part', 'area', 'portion', 'third'],
  active: ['active', 'current', 'ongoing', 'fresh', 'acute'],
  obsolete: ['obsolete', 'old', 'healed', 'latent', 'inactive', 'previous', 'past', 'scar', 'scarring', 'sequelae', 'sequela', 'remote'],
  where: ['where', 'location', 'located', 'locate', 'localize', 'localise', 'site', 'position', 'situated'],
  which: ['which'],
  count: ['many', 'count'],
  number: ['number', 'amount', 'quantity'],
  score: ['score', 'probability', 'percentage', 'percent', 'risk', 'chance', 'chances', 'value', 'rating', 'threshold'],
  confidence: ['sure', 'confident', 'confidence', 'certain', 'certainty', 'reliable', 'trust'],
  likely: ['likely', 'likelihood', 'probable', 'possibly', 'suspicious', 'suggestive', 'suspect', 'suspected', 'consistent'],
  type: ['type', 'kind', 'sort', 'category', 'classification', 'classify', 'nature', 'stage'],
  what: ['what', 'whats', 'tell', 'list', 'show', 'give'],
  summary: ['summary', 'summarise', 'summarize', 'describe', 'description', 'diagnosis', 'impression', 'conclusion', 'overview', 'report', 'wrong', 'interpretation', 'interpret', 'read'],
  recommend: ['recommend', 'recommendation', 'recommended', 'xpert', 'sputum', 'genexpert', 'confirm', 'confirmatory', 'test', 'tested', 'testing', 'next', 'followup', 'workup'],
  how: ['how'],
  aux: ['is', 'are', 'does', 'do', 'did', 'has', 'have', 'can', 'could', 'was', 'were', 'will', 'would', 'should', 'any', 'anything', 'isnt', 'arent', 'doesnt', 'am'],
  or: ['or'],
};

const TOPIC_WORDS: Record<Topic, string[]> = {
  fracture: ['fracture', 'fractures', 'fractured', 'broken', 'break', 'rib', 'ribs', 'bone', 'bones', 'spine', 'clavicle', 'scoliosis', 'vertebra', 'vertebrae', 'skeleton'],
  device: ['pacemaker', 'pacer', 'icd', 'device', 'devices', 'tube', 'tubes', 'catheter', 'catheters', 'line', 'lines', 'wire', 'wires', 'port', 'implant', 'stent', 'drain', 'picc', 'cvc', 'hardware', 'foreign'],
  nodule: ['nodule', 'nodules', 'mass', 'masses', 'tumor', 'tumour', 'tumors', 'tumours', 'cancer', 'malignancy', 'malignant', 'carcinoma', 'neoplasm', 'metastasis', 'metastases', 'lump'],
  size: ['size', 'sizes', 'big', 'large', 'small', 'measure', 'measures', 'measurement', 'diameter', 'mm', 'cm', 'millimeter', 'millimetre', 'centimeter', 'centimetre', 'dimension', 'dimensions', 'wide', 'long'],
  heart: ['heart', 'cardiac', 'cardiomegaly', 'cardiothoracic', 'ctr', 'aorta', 'aortic'],
  effusion: ['effusion', 'effusions', 'pleural', 'pleurisy', 'fluid'],
  pneumothorax: ['pneumothorax', 'ptx', 'collapsed'],
  otherDisease: ['pneumonia', 'covid', 'coronavirus', 'influenza', 'flu', 'consolidation', 'emphysema', 'copd', 'fibrosis', 'edema', 'oedema', 'atelectasis', 'sarcoidosis', 'asthma', 'bronchitis', 'silicosis', 'hiv'],
  cavity: ['cavity', 'cavities', 'cavitation', 'cavitary', 'cavitating'],
  calcification: ['calcification', 'calcifications', 'calcified', 'calcium', 'granuloma', 'granulomas'],
  treatment: ['treat', 'treated', 'treatment', 'therapy', 'medication', 'medicine', 'drugs', 'antibiotics', 'regimen', 'isoniazid', 'rifampicin'],
  patient: ['age', 'gender', 'sex', 'male', 'female', 'man', 'woman', 'weight', 'height', 'name', 'born'],
  comparison: ['compare', 'compared', 'comparison', 'prior', 'earlier', 'change', 'changed', 'progression', 'progressed', 'worse', 'worsened', 'better', 'improved', 'improvement', 'since', 'before'],
  structures: ['mediastinum', 'mediastinal', 'hilum', 'hila', 'hilar', 'diaphragm', 'trachea', 'lymph', 'node', 'nodes'],
};

/** Words that must stay themselves: common words one edit away from a vocabulary word (might/right, felt/left, long/lung). */
const PLAIN_WORDS = [
  'a', 'an', 'the', 'this', 'that', 'these', 'those', 'there', 'their', 'here', 'it', 'its', 'in', 'on', 'of', 'at', 'to', 'for', 'from', 'with', 'by', 'as',
  'and', 'not', 'no', 'yes', 'be', 'been', 'being', 'see', 'seen', 'visible', 'present', 'show', 'shows', 'shown', 'appear', 'appears', 'image', 'images', 'xray', 'x', 'ray',
  'radiograph', 'film', 'picture', 'scan', 'cxr', 'patient', 'please', 'me', 'you', 'your', 'i', 'we', 'model', 'ai', 'algorithm', 'system', 'about', 'think',
  'might', 'may', 'light', 'night', 'sight', 'eight', 'fight', 'tight', 'bright', 'felt', 'lift', 'lunch', 'zone', 'done', 'one', 'two', 'three', 'more', 'most', 'than',
  'then', 'also', 'either', 'each', 'all', 'some', 'much', 'very', 'really', 'where', 'who', 'why', 'when', 'so', 'if', 'out', 'up', 'down', 'side', 'sided', 'marked',
  'detect', 'detected', 'found', 'identified', 'identify', 'look', 'looks', 'like', 'seem', 'seems', 'other', 'another', 'same', 'get', 'got', 'make', 'say', 'says',
  'answer', 'question', 'know', 'need', 'test', 'tested', 'testing', 'result', 'results', 'reading', 'read', 'report', 'an', 'hand', 'thing', 'things', 'within',
  'inside', 'overall', 'total', 'many', 'lot', 'lots', 'just', 'only', 'exactly', 'there', 'theres', 'whats', 'wheres', 'hows', 'lesion', 'lesions', 'mean', 'means',
  'based', 'basis', 'find', 'finds', 'none', 'last', 'first', 'high', 'low', 'higher', 'above', 'below', 'over', 'under', 'go', 'goes',
  'rest', 'best', 'text', 'ready', 'real', 'head', 'lead', 'support', 'least', 'less', 'fact', 'correct', 'corrected',
];

interface VocabEntry {
  word: string;
  meaning: Meaning;
}

const VOCAB: VocabEntry[] = (() => {
  const byWord = new Map<string, Meaning>();
  for (const [c, ws] of Object.entries(CONCEPT_WORDS) as [Concept, string[]][]) for (const w of ws) byWord.set(w, { concept: c });
  for (const [t, ws] of Object.entries(TOPIC_WORDS) as [Topic, string[]][]) for (const w of ws) byWord.set(w, { topic: t });
  for (const w of PLAIN_WORDS) if (!byWord.has(w)) byWord.set(w, null);
  return [...byWord].map(([word, meaning]) => ({ word, meaning }));
})();
const EXACT = new Map(VOCAB.map((e) => [e.word, e.meaning]));

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions), stopping early above `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[n];
}

/** How many edits a word of this length may carry: none for short words (tb, rt, is), one up to five letters, else two. */
function allowedEdits(len: number): number {
  return len <= 3 ? 0 : len <= 5 ? 1 : 2;
}

export interface MatchedWord {
  token: string;
  word: string;
  meaning: Meaning;
  distance: number;
}

/** The vocabulary word nearest to a token, if close enough (ties: the same first letter, then the vocabulary's order). */
export function matchWord(token: string): MatchedWord | null {
  if (EXACT.has(token)) return { token, word: token, meaning: EXACT.get(token)!, distance: 0 };
  const max = allowedEdits(token.length);
  if (max === 0) return null;
  let best: MatchedWord | null = null;
  for (const e of VOCAB) {
    if (allowedEdits(e.word.length) === 0) continue;
    const d = editDistance(token, e.word, max);
    if (d > max) continue;
    if (!best || d < best.distance || (d === best.distance && e.word[0] === token[0] && best.word[0] !== token[0])) best = { token, word: e.word, meaning: e.meaning, distance: d };
  }
  return best;
}

export function tokenize(question: string): string[] {
  return question
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/x-ray/g, 'xray')
    .replace(/['’]/g, '')
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .slice(0, 60);
}

export type Intent =
  | { kind: 'tb' }
  | { kind: 'normal' }
  /** clear: the question asks whether the lung is clear (normal), so "yes" means no lesion there */
  | { kind: 'side'; side: Side | 'both'; clear: boolean }
  | { kind: 'zone'; zone: Zone; side: Side | null; clear: boolean }
  | { kind: 'active'; side: Side | null; zone: Zone | null }
  | { kind: 'obsolete'; side: Side | null; zone: Zone | null }
  | { kind: 'where' }
  | { kind: 'count'; lesionKind: Exclude<LesionKind, 'other'> | null; side: Side | null; zone: Zone | null }
  | { kind: 'score' }
  | { kind: 'confidence' }
  | { kind: 'type' }
  | { kind: 'summary' }
  | { kind: 'recommendation' }
  | { kind: 'unsupported'; topic: Topic }
  | { kind: 'unknown' };

export interface ParsedQuestion {
  intent: Intent;
  type: AnswerType;
  words: MatchedWord[];
}

const OPEN_INTENTS = new Set<Intent['kind']>(['where', 'count', 'score', 'confidence', 'type', 'summary', 'recommendation']);

/** Place a question: which of the answerable questions it is, or which out-of-scope topic it asks about. */
export function parseQuestion(question: string): ParsedQuestion {
  const tokens = tokenize(question);
  const words = tokens.map(matchWord).filter((m): m is MatchedWord => m !== null);
  const has = (c: Concept) => words.some((w) => w.meaning !== null && 'concept' in w.meaning && w.meaning.concept === c);
  const at = (i: number, c: Concept) => i < tokens.length && words.some((w) => w.token === tokens[i] && w.meaning !== null && 'concept' in w.meaning && w.meaning.concept === c);
  const follows = (first: string, c: Concept) => tokens.some((t, i) => t === first && at(i + 1, c));
  const done = (intent: Intent): ParsedQuestion => ({ intent, type: intent.kind === 'unsupported' || intent.kind === 'unknown' ? 'unsupported' : OPEN_INTENTS.has(intent.kind) ? 'open' : 'closed', words });

  // "how old is the patient" asks for an age, not about old (obsolete) lesions
  if (tokens.some((t, i) => t === 'how' && tokens[i + 1] === 'old')) return done({ kind: 'unsupported', topic: 'patient' });
  const topic = words.find((w) => w.meaning !== null && 'topic' in w.meaning);
  if (topic && topic.meaning && 'topic' in topic.meaning) return done({ kind: 'unsupported', topic: topic.meaning.topic });

  const side: Side | null = has('left') && !has('right') ? 'left' : has('right') && !has('left') ? 'right' : null;
  const zone: Zone | null = has('upper') ? 'upper' : has('middle') ? 'middle' : has('lower') ? 'lower' : null;
  const kind = has('active') && !has('obsolete') ? 'active' : has('obsolete') && !has('active') ? 'obsolete' : null;

  if (follows('how', 'count') || has('number') || tokens.includes('count')) return done({ kind: 'count', lesionKind: kind, side, zone });
  if (has('confidence')) return done({ kind: 'confidence' });
  if (has('recommend') && (!at(0, 'aux') || tokens[0] === 'should')) return done({ kind: 'recommendation' });
  if (has('summary')) return done({ kind: 'summary' });
  // "how much of the lung", "what part of the lung": the extent, which the lesions' zones describe
  if (tokens.some((t, i) => t === 'how' && tokens[i + 1] === 'much') || (!at(0, 'aux') && has('what') && (has('zone') || has('lung')) && !side && !zone)) return done({ kind: 'where' });
  const closedForm = at(0, 'aux');
  if (has('score') && !closedForm) return done({ kind: 'score' });
  if (has('likely') && (follows('how', 'likely') || has('what'))) return done({ kind: 'score' });
  if (has('where') || (has('which') && (has('lung') || has('zone') || has('both') || has('lesion')))) return done({ kind: 'where' });
  if (has('type') || (has('active') && has('obsolete'))) return done({ kind: 'type' });
  if (kind) return done({ kind, side, zone });
  const clear = has('normal');
  if (zone) return done({ kind: 'zone', zone, side, clear });
  if ((has('left') && has('right')) || has('both')) return done({ kind: 'side', side: 'both', clear });
  if (side) return done({ kind: 'side', side, clear });
  if (clear) return done({ kind: 'normal' });
  if (has('tb') || has('lesion') || has('disease') || has('abnormal') || has('likely') || has('score') || has('normal')) return done({ kind: 'tb' });
  return done({ kind: 'unknown' });
}

export interface EvidenceFinding {
  id: string;
  label: string;
  kind: LesionKind;
  side: Side;
  zones: Zone[];
  score: number | null;
  source: 'ai' | 'user';
  state: ReportFinding['state'];
}

export interface Evidence {
  findings: EvidenceFinding[];
  zones: { side: Side; zone: Zone }[];
  tbScore: number | null;
  threshold: number | null;
  /** where the threshold comes from: "pack default" or "site calibration version N" */
  thresholdOrigin: string | null;
  model: string | null;
}

export interface Answer {
  answer: string;
  type: AnswerType;
  evidence: Evidence;
  intent: Intent['kind'];
}

function evidenceOf(im: ImageFacts, fs: readonly ReportFinding[], withScore: boolean): Evidence {
  const zones: { side: Side; zone: Zone }[] = [];
  for (const f of fs) for (const z of f.zones) if (!zones.some((e) => e.side === f.side && e.zone === z)) zones.push({ side: f.side, zone: z });
  return {
    findings: fs.map((f) => ({ id: f.id, label: f.label, kind: f.kind, side: f.side, zones: [...f.zones], score: f.score, source: f.source, state: f.state })),
    zones,
    tbScore: withScore && im.ai ? Math.round(im.ai.tbScore * 100) / 100 : null,
    threshold: withScore && im.ai ? im.ai.threshold : null,
    thresholdOrigin: withScore && im.ai ? thresholdOrigin(im.ai) : null,
    model: withScore && im.ai ? `${im.ai.modelName} ${im.ai.modelVersion}` : null,
  };
}

function lesions(n: number): string {
  return `${numberWord(n)} ${plural(n, 'lesion', 'lesions')}`;
}

/** "two with features of active tuberculosis and one obsolete (healed)" */
function kindBreakdown(fs: readonly ReportFinding[]): string {
  const a = fs.filter((f) => f.kind === 'active').length;
  const o = fs.filter((f) => f.kind === 'obsolete').length;
  const x = fs.filter((f) => f.kind === 'other');
  const parts: string[] = [];
  if (a) parts.push(`${numberWord(a)} with features of active tuberculosis`);
  if (o) parts.push(`${numberWord(o)} obsolete (healed)`);
  for (const label of [...new Set(x.map((f) => f.label))].sort()) parts.push(`${numberWord(x.filter((f) => f.label === label).length)} marked as "${label}"`);
  return joinList(parts);
}

/** " in the left upper zone", " in the right lung", " in the upper zone of either lung", or "" */
function placePhrase(side: Side | null, zone: Zone | null): string {
  if (side && zone) return ` in the ${zonePhrase(side, [zone])}`;
  if (side) return ` in the ${side} lung`;
  if (zone) return ` in the ${zone} zone of either lung`;
  return '';
}

function scoreClause(im: ImageFacts, withModel = false): string {
  if (!im.ai) return 'no AI reading is available';
  const [s, t] = formatScore(im.ai.tbScore, im.ai.threshold);
  const side = isTbPositive(im.ai) ? 'at or above' : 'below';
  const model = `model ${im.ai.modelName} ${im.ai.modelVersion}`;
  if (im.ai.thresholdSource !== 'site') return `the AI TB score is ${s} of 100, ${side} the operating threshold of ${t}${withModel ? ` (${model})` : ''}`;
  const what = im.ai.siteHead ? `the site-adapted AI TB score (site head ${im.ai.siteHead})` : 'the AI TB score';
  return `${what} is ${s} of 100, ${side} the site operating threshold of ${t} (${thresholdOrigin(im.ai)}${withModel ? `; ${model}` : ''})`;
}

/** "two lesions with features of active tuberculosis in ...", or with mixed kinds "three lesions (two ... and one ...) in ..." */
function describe(fs: readonly ReportFinding[]): string {
  const kinds = new Set(fs.map((f) => (f.kind === 'other' ? `other:${f.label}` : f.kind)));
  if (kinds.size === 1) return `${numberWord(fs.length)} ${kindNoun(fs[0].kind, fs.length, fs[0].label)} in ${locationPhrase(fs)}`;
  return `${lesions(fs.length)} (${kindBreakdown(fs)}) in ${locationPhrase(fs)}`;
}

const CAPABILITIES = 'whether there are signs of tuberculosis, which lung and zone are affected, whether lesions look active or obsolete (healed), how many there are, the TB score and how sure the model is, a summary, and the recommended next step';

/** Answer a question about one image from its current findings. */
export function answerQuestion(im: ImageFacts, question: string): Answer {
  const q = parseQuestion(question);
  const fs = im.findings;
  const intent = q.intent;
  const out = (answer: string, evidence: Evidence): Answer => ({ answer, type: q.type, evidence, intent: intent.kind });
  const positive = isTbPositive(im.ai);
  switch (intent.kind) {
    case 'unsupported':
      return out(`The model does not assess ${TOPICS[intent.topic]}; it reads tuberculosis-related lesions, their lung zones and a TB score. Please assess this on the image itself.`, evidenceOf(im, [], false));
    case 'unknown':
      return out(`The model does not assess this, or the question was not understood. It can answer ${CAPABILITIES}.`, evidenceOf(im, [], false));
    case 'tb':
    case 'normal': {
      const yesTb = fs.length > 0 || positive;
      let why: string;
      if (fs.length && (positive || fs.some((f) => f.kind === 'active'))) why = `${describe(fs)} ${plural(fs.length, 'is', 'are')} marked, and ${scoreClause(im)}`;
      else if (fs.length) why = `${describe(fs)} ${plural(fs.length, 'is', 'are')} marked, though ${scoreClause(im)}`;
      else if (positive) why = `${scoreClause(im)}, though no focal lesion is marked`;
      else why = `no lesion is marked and ${scoreClause(im)}`;
      if (intent.kind === 'tb') return out(`${yesTb ? 'Yes' : 'No'}: ${why}.`, evidenceOf(im, fs, true));
      return out(`${yesTb ? 'No' : 'Yes'}, as far as tuberculosis is concerned: ${why}. The model does not assess other diseases.`, evidenceOf(im, fs, true));
    }
    case 'side': {
      // "Is the left lung clear?" asks the opposite of "is the left lung affected?": the same facts, the other word.
      const yesNo = (affected: boolean) => ((affected !== intent.clear) ? 'Yes' : 'No');
      if (intent.side === 'both') {
        const r = fs.filter((f) => f.side === 'right');
        const l = fs.filter((f) => f.side === 'left');
        if (intent.clear) {
          return out(fs.length ? `No: ${describe(fs)} ${plural(fs.length, 'is', 'are')} marked.` : 'Yes: no lesion is marked in either lung.', evidenceOf(im, fs, false));
        }
        if (r.length && l.length) return out(`Yes: both lungs have marked lesions, ${describe(fs)}.`, evidenceOf(im, fs, false));
        if (!fs.length) return out('No: no lesion is marked in either lung.', evidenceOf(im, [], false));
        return out(`No: only the ${r.length ? 'right' : 'left'} lung has marked lesions (${describe(fs)}).`, evidenceOf(im, fs, false));
      }
      const s = intent.side;
      const here = fs.filter((f) => f.side === s);
      if (here.length) return out(`${yesNo(true)}: the ${s} lung has ${describe(here)}.`, evidenceOf(im, here, false));
      const other = fs.filter((f) => f.side !== s);
      return out(`${yesNo(false)}: no lesion is marked in the ${s} lung${other.length ? `; the marked ${plural(other.length, 'lesion is', 'lesions are')} in the other lung` : ''}.`, evidenceOf(im, other, false));
    }
    case 'zone': {
      const { zone, side } = intent;
      const yesNo = (affected: boolean) => ((affected !== intent.clear) ? 'Yes' : 'No');
      const where = side ? `the ${zonePhrase(side, [zone])}` : `the ${zone} zone of either lung`;
      const here = fs.filter((f) => f.zones.includes(zone) && (!side || f.side === side));
      if (here.length) return out(`${yesNo(true)}: ${where} has ${describe(here)}.`, evidenceOf(im, here, false));
      return out(`${yesNo(false)}: no lesion is marked in ${where}${fs.length ? ` (the marked ${plural(fs.length, 'lesion is', 'lesions are')} in ${locationPhrase(fs)})` : ''}.`, evidenceOf(im, fs, false));
    }
    case 'active':
    case 'obsolete': {
      const k = intent.kind;
      const inPlace = fs.filter((f) => (!intent.side || f.side === intent.side) && (!intent.zone || f.zones.includes(intent.zone)));
      const place = placePhrase(intent.side, intent.zone);
      const here = inPlace.filter((f) => f.kind === k);
      if (here.length) return out(`Yes: ${describe(here)}.`, evidenceOf(im, here, false));
      if (!inPlace.length) return out(`No: no lesion is marked${place}${k === 'active' && positive && !place ? `, though ${scoreClause(im)}` : ''}.`, evidenceOf(im, [], k === 'active'));
      return out(`No: none of the marked lesions${place} is classified as ${k === 'active' ? 'active' : 'obsolete'}; there ${plural(inPlace.length, 'is', 'are')} ${describe(inPlace)}.`, evidenceOf(im, inPlace, false));
    }
    case 'where':
      if (!fs.length) return out(`No lesion is marked, so there is no location to give; ${scoreClause(im)}.`, evidenceOf(im, [], true));
      return out(`${capitalize(describe(fs))}.`, evidenceOf(im, fs, false));
    case 'count': {
      const here = fs.filter((f) => (!intent.lesionKind || f.kind === intent.lesionKind) && (!intent.side || f.side === intent.side) && (!intent.zone || f.zones.includes(intent.zone)));
      const filter = `${intent.lesionKind === 'active' ? ' with features of active tuberculosis' : intent.lesionKind === 'obsolete' ? ' obsolete (healed)' : ''}${placePhrase(intent.side, intent.zone)}`;
      if (!here.length) return out(`None: no lesion${filter} is marked.`, evidenceOf(im, [], false));
      return out(`${here.length} ${plural(here.length, 'lesion', 'lesions')}${filter}: ${kindBreakdown(here)}, in ${locationPhrase(here)}.`, evidenceOf(im, here, false));
    }
    case 'score':
      return out(`${capitalize(scoreClause(im, true))}.`, evidenceOf(im, [], true));
    case 'confidence': {
      if (!im.ai) return out('No AI reading is available for this image, so there is no model confidence to report.', evidenceOf(im, fs, false));
      const ai = fs.filter((f) => f.score !== null);
      const boxes = ai.length
        ? ` Its confidence in the marked boxes: ${joinList(ai.map((f) => `${f.score!.toFixed(2)} for the ${f.kind === 'active' ? 'active' : f.kind === 'obsolete' ? 'obsolete' : `"${f.label}"`} lesion in the ${zonePhrase(f.side, f.zones)}`))}.`
        : '';
      return out(
        `${capitalize(scoreClause(im))}, so the model ${positive ? 'flags' : 'does not flag'} this image for tuberculosis.${boxes} The score is a triage aid calibrated for high sensitivity, not a diagnosis.`,
        evidenceOf(im, ai, true),
      );
    }
    case 'summary':
      return out(
        `${capitalize(scoreClause(im))}; ${fs.length ? `${describe(fs)} ${plural(fs.length, 'is', 'are')} marked` : 'no lesion is marked'}. This is the AI reading with the reader's corrections, not a diagnosis.`,
        evidenceOf(im, fs, true),
      );
    case 'recommendation':
      return out(recommendationText({ caseId: 0, images: [im] }), evidenceOf(im, fs, true));
    case 'type':
      if (!fs.length) return out('No lesion is marked, so there is no lesion type to give.', evidenceOf(im, [], false));
      return out(`${capitalize(kindBreakdown(fs))}, in ${locationPhrase(fs)}.`, evidenceOf(im, fs, false));
  }
}
