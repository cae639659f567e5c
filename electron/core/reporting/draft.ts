// The draft report: templated sentences written from the report facts (./facts.ts), worded so that they read
// naturally (numbers as words, singular and plural, lists with "and") and say nothing the facts do not support: no
// lesion type that no finding carries, no lesion text when the reader rejected every proposal, no view the file does
// not state. Pure and deterministic.
import { isTbPositive, thresholdOrigin, type ImageFacts, type LesionKind, type ReportFacts, type ReportFinding } from './facts';
import { ZONES, type Side, type Zone } from './zones';
import { joinWords, zonePhrase } from '../../contract/presentation';

export { zonePhrase };

export interface ReportSections {
  technique: string;
  findings: string;
  impression: string;
  aiScore: string;
  recommendation: string;
}

export const SECTION_ORDER: readonly (keyof ReportSections)[] = ['technique', 'findings', 'impression', 'aiScore', 'recommendation'];
export const SECTION_TITLES: Readonly<Record<keyof ReportSections, string>> = {
  technique: 'TECHNIQUE',
  findings: 'FINDINGS',
  impression: 'IMPRESSION',
  aiScore: 'AI TB SCORE',
  recommendation: 'RECOMMENDATION',
};

export interface Draft {
  sections: ReportSections;
  text: string;
}

const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

export function numberWord(n: number): string {
  return n >= 0 && n < NUMBER_WORDS.length ? NUMBER_WORDS[n] : String(n);
}

export function capitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** "a", "a and b", "a, b and c" */
export function joinList(items: string[]): string {
  return joinWords(items);
}

export function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

const SIDE_ORDER: readonly Side[] = ['right', 'left'];
const zoneIndex = (z: Zone) => ZONES.indexOf(z);

/** Where a set of findings lies, one phrase per lung: "the right upper zone and the left middle and lower zones". */
export function locationPhrase(findings: readonly ReportFinding[]): string {
  const parts: string[] = [];
  for (const side of SIDE_ORDER) {
    const zones = findings.filter((f) => f.side === side).flatMap((f) => f.zones);
    if (zones.length) parts.push(`the ${zonePhrase(side, zones)}`);
  }
  return joinList(parts);
}

/** "lesions with features of active tuberculosis", "obsolete (healed) tuberculous lesion", 'lesion marked as "nodule"' */
export function kindNoun(kind: LesionKind, n: number, label: string): string {
  switch (kind) {
    case 'active':
      return `${plural(n, 'lesion', 'lesions')} with features of active tuberculosis`;
    case 'obsolete':
      return `obsolete (healed) tuberculous ${plural(n, 'lesion', 'lesions')}`;
    default:
      return `${plural(n, 'lesion', 'lesions')} marked as "${label}"`;
  }
}

/** Findings of one kind (and, for unclassified ones, one label) grouped by lung and zones, as one sentence. */
function kindSentence(kind: LesionKind, label: string, fs: readonly ReportFinding[]): string {
  const groups = new Map<string, { side: Side; zones: Zone[]; n: number }>();
  for (const f of fs) {
    const zones = [...f.zones].sort((a, b) => zoneIndex(a) - zoneIndex(b));
    const key = `${f.side}|${zones.join('+')}`;
    const g = groups.get(key);
    if (g) g.n++;
    else groups.set(key, { side: f.side, zones, n: 1 });
  }
  const ordered = [...groups.values()].sort(
    (a, b) => SIDE_ORDER.indexOf(a.side) - SIDE_ORDER.indexOf(b.side) || zoneIndex(a.zones[0]) - zoneIndex(b.zones[0]) || a.zones.length - b.zones.length,
  );
  const parts = ordered.map((g, i) => (i === 0 ? `${numberWord(g.n)} ${kindNoun(kind, g.n, label)} in the ${zonePhrase(g.side, g.zones)}` : `${numberWord(g.n)} in the ${zonePhrase(g.side, g.zones)}`));
  return `${capitalize(joinList(parts))}.`;
}

const KIND_ORDER: readonly LesionKind[] = ['active', 'obsolete', 'other'];

/** The findings paragraph of one image. */
export function findingsText(im: ImageFacts): string {
  const fs = im.findings;
  if (!fs.length) {
    return im.ai || im.rejected ? 'No tuberculosis-related lesion is marked in either lung.' : 'No lesion is marked, and no AI reading is available for this image.';
  }
  const sentences: string[] = [];
  for (const kind of KIND_ORDER) {
    const ofKind = fs.filter((f) => f.kind === kind);
    if (!ofKind.length) continue;
    if (kind === 'other') {
      for (const label of [...new Set(ofKind.map((f) => f.label))].sort()) sentences.push(kindSentence(kind, label, ofKind.filter((f) => f.label === label)));
    } else {
      sentences.push(kindSentence(kind, '', ofKind));
    }
  }
  for (const side of SIDE_ORDER) if (!fs.some((f) => f.side === side)) sentences.push(`No lesion is marked in the ${side} lung.`);
  return sentences.join(' ');
}

function viewText(view: string | null): string {
  const v = view?.trim().toUpperCase() ?? '';
  if (v === 'PA') return 'posteroanterior (PA) view';
  if (v === 'AP') return 'anteroposterior (AP) view';
  if (v) return `view position stated as ${view!.trim()}`;
  return 'PA/AP view not stated';
}

/** The technique line of one image: what was acquired, and only what the file says. */
export function techniqueText(im: ImageFacts): string {
  const modality = im.modality?.trim().toUpperCase();
  const kind = modality === 'CR' ? 'computed radiograph (CR)' : modality === 'DX' ? 'digital radiograph (DX)' : modality ? `radiograph (modality ${modality})` : 'radiograph';
  const origin = im.sourceFormat === 'dicom' ? '' : ` Imported from a ${im.sourceFormat.toUpperCase()} file, without DICOM acquisition details.`;
  return `Frontal chest ${kind}; ${viewText(im.view)}.${origin}`;
}

/** Scores as printed: one decimal, two where one decimal would make a score and its threshold look equal. */
export function formatScore(score: number, threshold: number): [string, string] {
  const a = score.toFixed(1);
  const b = threshold.toFixed(1);
  return a === b ? [score.toFixed(2), threshold.toFixed(2)] : [a, b];
}

export function aiScoreText(im: ImageFacts): string {
  if (!im.ai) return 'No AI reading is available for this image.';
  const [s, t] = formatScore(im.ai.tbScore, im.ai.threshold);
  const side = isTbPositive(im.ai) ? 'at or above' : 'below';
  if (im.ai.thresholdSource !== 'site') return `${s} of 100, ${side} the operating threshold of ${t} (model ${im.ai.modelName} ${im.ai.modelVersion}).`;
  const adapted = im.ai.siteHead ? ` (site-adapted score, site head ${im.ai.siteHead})` : '';
  return `${s} of 100${adapted}, ${side} the site operating threshold of ${t} (${thresholdOrigin(im.ai)}; model ${im.ai.modelName} ${im.ai.modelVersion}).`;
}

interface CaseSummary {
  all: ReportFinding[];
  active: ReportFinding[];
  obsolete: ReportFinding[];
  other: ReportFinding[];
  positive: boolean;
  anyAi: boolean;
}

function summarize(facts: ReportFacts): CaseSummary {
  const all = facts.images.flatMap((im) => im.findings);
  return {
    all,
    active: all.filter((f) => f.kind === 'active'),
    obsolete: all.filter((f) => f.kind === 'obsolete'),
    other: all.filter((f) => f.kind === 'other'),
    positive: facts.images.some((im) => isTbPositive(im.ai)),
    anyAi: facts.images.some((im) => im.ai !== null),
  };
}

export function impressionText(facts: ReportFacts): string {
  const s = summarize(facts);
  const out: string[] = [];
  if (s.active.length) out.push(`Findings suggestive of active pulmonary tuberculosis in ${locationPhrase(s.active)}.`);
  if (s.obsolete.length) out.push(`${s.active.length ? 'Also obsolete' : 'Obsolete'} (healed) tuberculous changes in ${locationPhrase(s.obsolete)}.`);
  if (s.other.length) {
    const labels = [...new Set(s.other.map((f) => `"${f.label}"`))].sort();
    out.push(`${capitalize(numberWord(s.other.length))} marked ${plural(s.other.length, 'finding', 'findings')} (${joinList(labels)}) in ${locationPhrase(s.other)}, not classified as active or obsolete tuberculosis.`);
  }
  if (!s.active.length && s.all.length && s.positive) {
    out.push('The AI TB score is at or above the operating threshold: active tuberculosis cannot be excluded radiographically.');
  }
  if (!s.all.length) {
    if (s.positive) out.push('No focal lesion is marked, but the AI TB score is at or above the operating threshold: tuberculosis cannot be excluded radiographically.');
    else if (s.anyAi) out.push('No radiographic evidence of tuberculosis on the AI triage.');
    else out.push('No tuberculosis-related lesion is marked; no AI reading is available.');
  }
  return out.join(' ');
}

export function recommendationText(facts: ReportFacts): string {
  const s = summarize(facts);
  if (s.positive || s.active.length) {
    return 'Confirmatory testing for tuberculosis is recommended, such as a WHO-recommended rapid molecular test (Xpert MTB/RIF) on sputum; chest radiography alone does not establish the diagnosis.';
  }
  if (s.obsolete.length || s.other.length) {
    return 'Clinical correlation with the history and symptoms is recommended; if symptoms suggest active tuberculosis, confirmatory testing (sputum Xpert MTB/RIF) is recommended.';
  }
  if (s.anyAi) {
    return 'No radiographic evidence of tuberculosis per the AI triage; clinical correlation is advised. A person with symptoms suggestive of tuberculosis should still be tested.';
  }
  return 'Clinical correlation is advised; the AI triage is not available for this study.';
}

/** Prefix each image's line with its number when the case has more than one image. */
function perImage(facts: ReportFacts, line: (im: ImageFacts) => string): string {
  if (facts.images.length === 1) return line(facts.images[0]);
  return facts.images.map((im, i) => `Image ${i + 1}: ${line(im)}`).join('\n');
}

export function draftSections(facts: ReportFacts): ReportSections {
  if (!facts.images.length) {
    return {
      technique: 'No image is stored for this case.',
      findings: 'No lesion is marked.',
      impression: 'No image to report on.',
      aiScore: 'No AI reading is available.',
      recommendation: 'Clinical correlation is advised.',
    };
  }
  return {
    technique: perImage(facts, techniqueText),
    findings: perImage(facts, findingsText),
    impression: impressionText(facts),
    aiScore: perImage(facts, aiScoreText),
    recommendation: recommendationText(facts),
  };
}

export function sectionsToText(s: ReportSections): string {
  return SECTION_ORDER.map((k) => `${SECTION_TITLES[k]}\n${s[k]}`).join('\n\n');
}

/** The sections of a report text with the draft's headings (as edited by a reader), or null when they are not all there in order. */
export function parseSections(text: string): ReportSections | null {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const found: Partial<Record<keyof ReportSections, string[]>> = {};
  let current: keyof ReportSections | null = null;
  let next = 0;
  for (const line of lines) {
    const heading = SECTION_ORDER.findIndex((k) => line.trim().toUpperCase() === SECTION_TITLES[k]);
    if (heading >= 0) {
      if (heading !== next) return null;
      current = SECTION_ORDER[heading];
      found[current] = [];
      next++;
      continue;
    }
    if (!current) {
      if (line.trim()) return null;
      continue;
    }
    found[current]!.push(line);
  }
  if (next !== SECTION_ORDER.length) return null;
  const out = {} as ReportSections;
  for (const k of SECTION_ORDER) out[k] = found[k]!.join('\n').trim();
  return out;
}

export function draftReport(facts: ReportFacts): Draft {
  const sections = draftSections(facts);
  return { sections, text: sectionsToText(sections) };
}
