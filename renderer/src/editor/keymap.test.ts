import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, actionFor, conflictOf, defaultKeyMap, keyName, loadKeyMap, saveKeyMap } from './keymap';

const press = (key: string, mods: { ctrl?: boolean; shift?: boolean; alt?: boolean } = {}) => ({ key, ctrlKey: !!mods.ctrl, metaKey: false, shiftKey: !!mods.shift, altKey: !!mods.alt });

test('the default keys reach every action, and no key is bound twice', () => {
  const map = defaultKeyMap();
  const seen = new Map<string, string>();
  for (const [action, keys] of Object.entries(map)) {
    for (const k of keys) {
      assert.ok(!seen.has(k.toLowerCase()), `${k} is bound to ${seen.get(k.toLowerCase())} and ${action}`);
      seen.set(k.toLowerCase(), action);
    }
  }
  assert.equal(actionFor(map, press('z', { ctrl: true })), 'undo');
  assert.equal(actionFor(map, press('Z', { ctrl: true, shift: true })), 'redo');
  assert.equal(actionFor(map, press('y', { ctrl: true })), 'redo');
  assert.equal(actionFor(map, press('[')), 'brushSmaller');
  assert.equal(actionFor(map, press(']')), 'brushLarger');
  assert.equal(actionFor(map, press('?', { shift: true })), 'help');
  assert.equal(actionFor(map, press('A', { shift: true })), 'acceptAll');
  assert.equal(actionFor(map, press('a')), 'accept');
  assert.equal(actionFor(map, press('ArrowLeft', { shift: true })), 'nudgeLeft', 'Shift makes the nudge larger, same action');
  assert.equal(actionFor(map, press('Shift')), null);
  assert.equal(actionFor(map, press('q')), null);
  for (const tool of ['toolSelect', 'toolBox', 'toolBrush', 'toolEraser', 'toolLasso', 'toolFill'] as const) assert.ok(map[tool].length > 0 && ACTIONS[tool].label);
});

test('a changed key is remembered, and an unreadable saved map falls back to the defaults', () => {
  const store = new Map<string, string>();
  const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
  const map = defaultKeyMap();
  assert.equal(keyName(press('k')), 'k');
  assert.equal(conflictOf(map, 'b', 'toolLasso'), 'toolBox');
  map.toolBox = ['k'];
  saveKeyMap(map, storage);
  const again = loadKeyMap(storage);
  assert.deepEqual(again.toolBox, ['k']);
  assert.equal(actionFor(again, press('k')), 'toolBox');
  assert.equal(actionFor(again, press('b')), null);
  store.set('cxr.shortcuts', '{not json');
  assert.deepEqual(loadKeyMap(storage), defaultKeyMap());
  store.set('cxr.shortcuts', JSON.stringify({ toolBox: 'k', nosuch: ['x'] }));
  assert.deepEqual(loadKeyMap(storage), defaultKeyMap(), 'malformed entries are ignored');
});
