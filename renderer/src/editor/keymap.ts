// The viewer's and editor's keyboard shortcuts: one action table with default keys, changed by the reader in the
// help overlay (`?`) and remembered in localStorage. A key is written as the browser names it (KeyboardEvent.key,
// letters lower-case) with `Ctrl+` / `Shift+` / `Alt+` in front when held; `Ctrl` also matches ⌘ on a Mac.

export interface ActionInfo {
  label: string;
  group: 'View' | 'Tools' | 'Findings' | 'Masks' | 'Layers' | 'History';
  keys: string[];
}

export const ACTIONS = {
  invert: { label: 'Invert grey levels', group: 'View', keys: ['i'] },
  fit: { label: 'Fit to window', group: 'View', keys: ['f'] },
  oneToOne: { label: 'One image pixel per screen pixel', group: 'View', keys: ['1'] },
  reset: { label: 'Reset window, zoom and invert', group: 'View', keys: ['r'] },
  help: { label: 'Show or hide this list', group: 'View', keys: ['?'] },
  toolView: { label: 'Window/level tool (drag changes the window)', group: 'Tools', keys: ['w'] },
  toolSelect: { label: 'Select, move and resize boxes', group: 'Tools', keys: ['v'] },
  toolBox: { label: 'Draw a new box', group: 'Tools', keys: ['b'] },
  toolBrush: { label: 'Brush (hold Shift to erase)', group: 'Tools', keys: ['p'] },
  toolEraser: { label: 'Eraser', group: 'Tools', keys: ['e'] },
  toolLasso: { label: 'Lasso / polygon fill (hold Shift to cut out)', group: 'Tools', keys: ['l'] },
  toolFill: { label: 'Fill a closed region (hold Shift to clear it)', group: 'Tools', keys: ['g'] },
  accept: { label: 'Accept the selected finding', group: 'Findings', keys: ['a'] },
  reject: { label: 'Reject the selected finding', group: 'Findings', keys: ['x'] },
  acceptAll: { label: 'Accept every proposed finding', group: 'Findings', keys: ['Shift+A'] },
  deleteBox: { label: 'Delete the selected box (an AI box is rejected)', group: 'Findings', keys: ['Delete', 'Backspace'] },
  cycleLabel: { label: 'Change the selected box’s label', group: 'Findings', keys: ['t'] },
  nextFinding: { label: 'Select the next finding', group: 'Findings', keys: ['Tab'] },
  nudgeLeft: { label: 'Nudge the box left (Shift: 10 px)', group: 'Findings', keys: ['ArrowLeft'] },
  nudgeRight: { label: 'Nudge the box right (Shift: 10 px)', group: 'Findings', keys: ['ArrowRight'] },
  nudgeUp: { label: 'Nudge the box up (Shift: 10 px)', group: 'Findings', keys: ['ArrowUp'] },
  nudgeDown: { label: 'Nudge the box down (Shift: 10 px)', group: 'Findings', keys: ['ArrowDown'] },
  brushSmaller: { label: 'Smaller brush', group: 'Masks', keys: ['['] },
  brushLarger: { label: 'Larger brush', group: 'Masks', keys: [']'] },
  cycleTarget: { label: 'Paint on the next mask (right lung, left lung, lesion)', group: 'Masks', keys: ['m'] },
  layerBoxes: { label: 'Show or hide the boxes', group: 'Layers', keys: ['o'] },
  layerLungs: { label: 'Show or hide the lung masks', group: 'Layers', keys: ['u'] },
  layerLesions: { label: 'Show or hide the lesion masks', group: 'Layers', keys: ['n'] },
  layerHeatmap: { label: 'Show or hide the evidence heatmap', group: 'Layers', keys: ['h'] },
  undo: { label: 'Undo', group: 'History', keys: ['Ctrl+z'] },
  redo: { label: 'Redo', group: 'History', keys: ['Ctrl+Shift+z', 'Ctrl+y'] },
} satisfies Record<string, ActionInfo>;

export type Action = keyof typeof ACTIONS;
export type KeyMap = Record<Action, string[]>;

const STORAGE_KEY = 'cxr.shortcuts';

export function defaultKeyMap(): KeyMap {
  return Object.fromEntries(Object.entries(ACTIONS).map(([a, info]) => [a, [...info.keys]])) as KeyMap;
}

/** The saved key map over the defaults (actions added since it was saved keep their default keys). */
export function loadKeyMap(storage: Pick<Storage, 'getItem'> | null = safeStorage()): KeyMap {
  const map = defaultKeyMap();
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    if (!raw) return map;
    const saved = JSON.parse(raw) as Record<string, unknown>;
    for (const [action, keys] of Object.entries(saved)) {
      if (action in map && Array.isArray(keys) && keys.every((k) => typeof k === 'string')) map[action as Action] = keys as string[];
    }
  } catch {
    // an unreadable saved map: the defaults
  }
  return map;
}

export function saveKeyMap(map: KeyMap, storage: Pick<Storage, 'setItem'> | null = safeStorage()): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(map));
  } catch {
    // storage full or disabled: the change holds for this session
  }
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** The name of a key press as the map writes it, or null for a lone modifier. */
export function keyName(e: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): string | null {
  if (['Control', 'Shift', 'Alt', 'Meta'].includes(e.key)) return null;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const shifted = e.shiftKey && (key.length > 1 || /[a-z]/.test(key));
  return `${e.ctrlKey || e.metaKey ? 'Ctrl+' : ''}${e.altKey ? 'Alt+' : ''}${shifted ? 'Shift+' : ''}${shifted && key.length === 1 ? key.toUpperCase() : key}`;
}

/** The action a key press triggers. Arrow keys match with or without Shift (Shift makes the step larger). */
export function actionFor(map: KeyMap, e: Parameters<typeof keyName>[0]): Action | null {
  const name = keyName(e);
  if (!name) return null;
  const plain = name.replace('Shift+', '');
  const lower = name.toLowerCase();
  for (const [action, keys] of Object.entries(map) as [Action, string[]][]) if (keys.some((k) => k.toLowerCase() === lower)) return action;
  if (plain.startsWith('Arrow')) {
    for (const [action, keys] of Object.entries(map) as [Action, string[]][]) if (keys.includes(plain)) return action;
  }
  return null;
}

/** Another action already bound to `key`, if any (the help overlay warns before taking it over). */
export function conflictOf(map: KeyMap, key: string, except: Action): Action | null {
  for (const [action, keys] of Object.entries(map) as [Action, string[]][]) {
    if (action !== except && keys.some((k) => k.toLowerCase() === key.toLowerCase())) return action;
  }
  return null;
}
