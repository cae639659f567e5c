// How the station names and paints what it shows, in one place for every screen and file: the viewer's layers, the
// AI panel, the report draft, the answers to questions and the exports (PDF legend and key image). A zone or a
// colour is named here once, so that the viewer, the report and the PDF can never call the same thing differently.
// Plain data and word functions: no imports, so that the renderer and core may both use it.

export type LungSide = 'right' | 'left';
export type LungZone = 'upper' | 'middle' | 'lower';
export const LUNG_ZONES: readonly LungZone[] = ['upper', 'middle', 'lower'];

/** "a", "a and b", "a, b and c" */
export function joinWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The zones of one lung in the report's words: "right upper zone", "left upper and middle zones". */
export function zonePhrase(side: LungSide, zones: readonly LungZone[]): string {
  const zs = [...new Set(zones)].sort((a, b) => LUNG_ZONES.indexOf(a) - LUNG_ZONES.indexOf(b));
  return `${side} ${joinWords(zs)} ${zs.length === 1 ? 'zone' : 'zones'}`;
}

export type Rgb = readonly [number, number, number];

export interface LayerColour {
  rgb: Rgb;
  /** the colour's name, for legends ("right lung in blue") */
  name: string;
  /** a dashed outline: [dash, gap] in screen (or print) pixels */
  dash?: readonly number[];
}

/** The masks: filled translucent in the viewer, outlined in the PDF's key image. */
export const MASK_COLOURS = {
  right_lung: { rgb: [40, 160, 255], name: 'blue' },
  left_lung: { rgb: [190, 110, 255], name: 'violet' },
  lesion: { rgb: [255, 70, 40], name: 'red' },
} as const satisfies Record<'right_lung' | 'left_lung' | 'lesion', LayerColour>;

/** A finding's box by what the reader decided about it. */
export const FINDING_COLOURS = {
  proposed: { rgb: [255, 210, 63], name: 'yellow', dash: [6, 4] },
  accepted: { rgb: [61, 220, 132], name: 'green' },
  edited: { rgb: [255, 159, 28], name: 'orange' },
  added: { rgb: [46, 196, 255], name: 'cyan' },
  rejected: { rgb: [138, 138, 138], name: 'grey', dash: [2, 4] },
} as const satisfies Record<'proposed' | 'accepted' | 'edited' | 'added' | 'rejected', LayerColour>;

/** What each box colour means, in the words of a legend. */
export const FINDING_STATE_WORDS: Readonly<Record<keyof typeof FINDING_COLOURS, string>> = {
  proposed: 'proposed by the AI, awaiting a decision',
  accepted: 'accepted',
  edited: 'changed by a reader',
  added: 'added by a reader',
  rejected: 'rejected',
};

/** The model's strongest regions when no box reached the display score: shown as low confidence, never as findings. */
export const CANDIDATE_COLOUR: LayerColour = { rgb: [235, 235, 235], name: 'white', dash: [3, 3] };

/** `#rrggbb` for a colour (canvas and CSS). */
export function cssColour(c: LayerColour): string {
  return `#${c.rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** The legend of lung outlines and boxes, in one sentence, for the states present (PDF). */
export function layerLegend(states: readonly (keyof typeof FINDING_COLOURS)[]): string {
  const lungs = `Outlines: right lung in ${MASK_COLOURS.right_lung.name}, left lung in ${MASK_COLOURS.left_lung.name}.`;
  const present = (Object.keys(FINDING_COLOURS) as (keyof typeof FINDING_COLOURS)[]).filter((s) => states.includes(s));
  if (!present.length) return lungs;
  return `${lungs} Boxes: ${joinWords(present.map((s) => `${FINDING_STATE_WORDS[s]} in ${FINDING_COLOURS[s].name}`))}; numbers as in the findings list.`;
}
