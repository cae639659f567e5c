// Is this DICOM something the workstation is meant to read? It reads frontal (PA/AP) human chest radiographs;
// lateral and oblique views, animals and non-radiograph modalities are refused with a reason a person can check.

export interface ScopeEvidence {
  modality: string | null;
  sopClassUid: string | null;
  viewPosition: string | null;
  bodyPart: string | null;
  /** Patient Species Description (0010,2201) and Patient Species Code Sequence (0010,2202) meanings */
  species: string[];
  /** Patient Breed Description (0010,2292) and Patient Breed Code Sequence (0010,2293) meanings */
  breeds: string[];
  /** View Code Sequence (0054,0220) meanings */
  viewCodes: string[];
  /** tags that describe this image's view (processing/protocol/series descriptions), label -> value */
  viewDescriptions: Array<{ label: string; value: string }>;
  /** tags that may reveal a veterinary context (the above plus institution, study description...) */
  contextDescriptions: Array<{ label: string; value: string }>;
}

/** Modalities that are clearly not projection radiographs, with what they are. */
const NON_RADIOGRAPH_MODALITIES: Record<string, string> = {
  CT: 'computed tomography',
  MR: 'magnetic resonance',
  US: 'ultrasound',
  NM: 'nuclear medicine',
  PT: 'PET',
  SR: 'structured report',
  XA: 'X-ray angiography',
  RF: 'radio-fluoroscopy',
  MG: 'mammography',
  IO: 'intra-oral (dental) radiograph',
  PX: 'panoramic dental radiograph',
  OP: 'ophthalmic photography',
  OPT: 'ophthalmic tomography',
  OCT: 'optical coherence tomography',
  ES: 'endoscopy',
  SM: 'slide microscopy',
  GM: 'general microscopy',
  XC: 'external camera photography',
  ECG: 'electrocardiography',
  EEG: 'electroencephalography',
  EMG: 'electromyography',
  HD: 'hemodynamic waveform',
  IVUS: 'intravascular ultrasound',
  IVOCT: 'intravascular optical coherence tomography',
  BMD: 'bone densitometry',
  RTIMAGE: 'radiotherapy image',
  RTDOSE: 'radiotherapy dose',
  RTSTRUCT: 'radiotherapy structure set',
  RTPLAN: 'radiotherapy plan',
  RTRECORD: 'radiotherapy record',
  SEG: 'segmentation',
  KO: 'key object selection',
  PR: 'presentation state',
  DOC: 'document',
  REG: 'registration',
  OT: '', // "other": not refused, listed so the table documents it
};

/** SOP classes of non-radiograph images, for files without a Modality. Prefix match on the UID. */
const NON_RADIOGRAPH_SOP_CLASSES: Array<[string, string]> = [
  ['1.2.840.10008.5.1.4.1.1.2', 'computed tomography'],
  ['1.2.840.10008.5.1.4.1.1.4', 'magnetic resonance'],
  ['1.2.840.10008.5.1.4.1.1.6', 'ultrasound'],
  ['1.2.840.10008.5.1.4.1.1.3.1', 'ultrasound'],
  ['1.2.840.10008.5.1.4.1.1.20', 'nuclear medicine'],
  ['1.2.840.10008.5.1.4.1.1.128', 'PET'],
  ['1.2.840.10008.5.1.4.1.1.130', 'PET'],
  ['1.2.840.10008.5.1.4.1.1.1.2', 'mammography'],
  ['1.2.840.10008.5.1.4.1.1.1.3', 'intra-oral (dental) radiograph'],
  ['1.2.840.10008.5.1.4.1.1.12.1', 'X-ray angiography'],
  ['1.2.840.10008.5.1.4.1.1.12.2', 'radio-fluoroscopy'],
  ['1.2.840.10008.5.1.4.1.1.13.1', 'X-ray 3D / tomosynthesis'],
  ['1.2.840.10008.5.1.4.1.1.77.1', 'visible-light photography or microscopy'],
  ['1.2.840.10008.5.1.4.1.1.481', 'radiotherapy object'],
  ['1.2.840.10008.5.1.4.1.1.88', 'structured report'],
];

const LATERAL_VIEW_POSITIONS = new Set(['LL', 'RL', 'LAT', 'LATERAL', 'LEFT LATERAL', 'RIGHT LATERAL', 'XTABLE LATERAL', 'CROSS-TABLE LATERAL']);
const OBLIQUE_VIEW_POSITIONS = new Set(['LLO', 'RLO', 'RAO', 'LAO', 'RPO', 'LPO', 'OBLIQUE']);
const FRONTAL_VIEW = /^(PA|AP|AP SUPINE|AP ERECT|PA ERECT|FRONTAL|RLD|LLD)$/;

/** 'lateral' as a view, not 'lateral decubitus' (a frontal view of a patient lying on one side) nor 'laterality'. */
const LATERAL_WORD = /\bLATERAL\b(?!\s+DECUB)/i;
const OBLIQUE_WORD = /\bOBLIQUE\b/i;
const FRONTAL_WORD = /\b(PA|AP|FRONTAL|POSTERO-?ANTERIOR|ANTERO-?POSTERIOR)\b/i;

const SPECIES_WORDS: Array<[RegExp, string]> = [
  [/\bCANINE\b/i, 'canine'],
  [/\bFELINE\b/i, 'feline'],
  [/\bEQUINE\b/i, 'equine'],
  [/\bBOVINE\b/i, 'bovine'],
  [/\bPORCINE\b/i, 'porcine'],
  [/\bOVINE\b/i, 'ovine'],
  [/\bCAPRINE\b/i, 'caprine'],
];
const VETERINARY_WORD = /VETERIN/i;
const HUMAN_SPECIES = /\b(HOMO\s+SAPIENS|HUMAN)\b/i;

export interface ScopeVerdict {
  /** e.g. "a lateral veterinary (canine) thorax radiograph; the workstation reads frontal human chest X-rays only (...)" */
  reason: string;
}

/** Null when the image may be read; otherwise why it is refused (the caller raises OUT_OF_SCOPE). */
export function checkScope(ev: ScopeEvidence): ScopeVerdict | null {
  const evidence: string[] = [];
  const quote = (label: string, value: string) => `${label} '${value.trim()}'`;

  // 1. Modality (or SOP class) that is not a projection radiograph.
  const modality = (ev.modality ?? '').trim().toUpperCase();
  const kind = NON_RADIOGRAPH_MODALITIES[modality];
  if (kind) {
    return { reason: `${articleForCode(modality)} ${modality} (${kind}) image; the workstation reads frontal human chest X-rays (CR/DX) only` };
  }
  if (!modality && ev.sopClassUid) {
    const hit = NON_RADIOGRAPH_SOP_CLASSES.find(([prefix]) => ev.sopClassUid === prefix || ev.sopClassUid!.startsWith(`${prefix}.`));
    if (hit) {
      return { reason: `${article(hit[1])} ${hit[1]} image (SOP Class ${ev.sopClassUid}); the workstation reads frontal human chest X-rays (CR/DX) only` };
    }
  }

  // 2. Species: an explicit non-human species or a breed, else veterinary words in descriptive tags.
  let veterinary = false;
  let species: string | null = null;
  for (const s of ev.species) {
    if (!s.trim()) continue;
    if (HUMAN_SPECIES.test(s)) continue;
    veterinary = true;
    species = species ?? speciesWord(s, true) ?? s.trim().toLowerCase();
    evidence.push(quote('Patient Species', s));
  }
  for (const b of ev.breeds) {
    if (!b.trim()) continue;
    veterinary = true;
    evidence.push(quote('Patient Breed', b));
  }
  for (const { label, value } of ev.contextDescriptions) {
    const w = speciesWord(value, false);
    if (w || VETERINARY_WORD.test(value)) {
      veterinary = true;
      species = species ?? w;
      evidence.push(quote(label, value));
    }
  }

  // 3. View: View Position is authoritative when it names one; descriptions only when it is absent.
  let view: 'lateral' | 'oblique' | null = null;
  const vp = (ev.viewPosition ?? '').trim().toUpperCase();
  if (LATERAL_VIEW_POSITIONS.has(vp)) {
    view = 'lateral';
    evidence.unshift(quote('View Position', vp));
  } else if (OBLIQUE_VIEW_POSITIONS.has(vp)) {
    view = 'oblique';
    evidence.unshift(quote('View Position', vp));
  } else if (!FRONTAL_VIEW.test(vp)) {
    for (const { label, value } of [...ev.viewCodes.map((value) => ({ label: 'View Code', value })), ...ev.viewDescriptions]) {
      if (FRONTAL_WORD.test(value) && !LATERAL_WORD.test(value)) break; // this image says it is frontal
      if (LATERAL_WORD.test(value) && !FRONTAL_WORD.test(value)) view = 'lateral';
      else if (OBLIQUE_WORD.test(value) && !FRONTAL_WORD.test(value)) view = 'oblique';
      if (view) {
        if (!evidence.some((e) => e.startsWith(`${label} `))) evidence.unshift(quote(label, value));
        break;
      }
    }
  }

  if (!veterinary && !view) return null;
  const words: string[] = [];
  if (view) words.push(view);
  if (veterinary) words.push(species ? `veterinary (${species})` : 'veterinary');
  const part = (ev.bodyPart ?? '').trim().toLowerCase();
  words.push(part ? `${part} radiograph` : 'radiograph');
  const phrase = words.join(' ');
  const unique = [...new Set(evidence)];
  return {
    reason: `${article(phrase)} ${phrase}; the workstation reads frontal human chest X-rays only${unique.length ? ` (${unique.join(', ')})` : ''}`,
  };
}

/** The species adjective a text names; common names (dog, cat...) only where the text is a species field. */
function speciesWord(text: string, commonNames: boolean): string | null {
  for (const [re, name] of SPECIES_WORDS) if (re.test(text)) return name;
  if (!commonNames) return null;
  if (/\b(DOG|CANIS)\b/i.test(text)) return 'canine';
  if (/\b(CAT|FELIS)\b/i.test(text)) return 'feline';
  if (/\b(HORSE|EQUUS)\b/i.test(text)) return 'equine';
  return null;
}

function article(phrase: string): string {
  return /^([aeiou]|X-)/i.test(phrase) ? 'an' : 'a';
}

/** 'an' before a code read letter by letter whose first letter sounds like a vowel (an MR, an XA, a CT). */
function articleForCode(code: string): string {
  return /^[AEFHILMNORSX]/.test(code) && code !== 'DOC' ? 'an' : 'a';
}
