// The first-run data folder choice, driven with scripted dialog answers (Electron's dialogs in the app).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chooseDataLocation, type SetupDialogs } from './setup';
import { readStationConfig, writeStationConfig } from '../core/paths';
import { tempDir } from '../testing/index';

/** Dialogs that give the scripted answers in order and record what they were asked. */
function scripted(answers: { ask?: ('default' | 'choose' | 'quit')[]; pick?: (string | null)[]; problem?: ('retry' | 'quit')[] }) {
  const asked: string[] = [];
  const dialogs: SetupDialogs = {
    askDataFolder: async (d) => {
      asked.push(`ask ${d}`);
      return answers.ask!.shift()!;
    },
    pickFolder: async () => {
      asked.push('pick');
      return answers.pick!.shift()!;
    },
    problem: async (m) => {
      asked.push(`problem ${m}`);
      return answers.problem!.shift()!;
    },
  };
  return { dialogs, asked };
}

const now = () => new Date('2026-11-28T14:00:00Z');

test('first run, default folder: remembered, and not asked again', async () => {
  const userData = tempDir();
  const s = scripted({ ask: ['default'] });
  const loc = await chooseDataLocation({ env: {}, userDataDir: userData, dialogs: s.dialogs, now });
  assert.deepEqual(loc, { dbPath: path.join(userData, 'cxr.sqlite'), source: 'chosen' });
  assert.deepEqual(readStationConfig(userData), { dataDir: userData, chosenAt: '2026-11-28T14:00:00.000Z' });
  const again = scripted({});
  assert.deepEqual(await chooseDataLocation({ env: {}, userDataDir: userData, dialogs: again.dialogs }), loc);
  assert.deepEqual(again.asked, []);
});

test('first run, another folder: an unusable pick is explained and picked again', async () => {
  const userData = tempDir();
  const install = tempDir();
  const good = path.join(tempDir(), 'CXR data');
  const s = scripted({ ask: ['choose'], pick: [null, path.join(install, 'data'), good], problem: ['retry', 'retry'] });
  const loc = await chooseDataLocation({ env: {}, userDataDir: userData, installDir: install, dialogs: s.dialogs, now });
  assert.deepEqual(loc, { dbPath: path.join(good, 'cxr.sqlite'), source: 'chosen' });
  assert.ok(fs.statSync(good).isDirectory());
  assert.equal(s.asked.filter((a) => a === 'pick').length, 3);
  assert.match(s.asked.find((a) => a.includes('install folder')) ?? '', /inside the application's install folder/);
  assert.match(s.asked.find((a) => a.includes('No folder')) ?? '', /No folder was chosen/);
});

test('quitting at any step opens nothing and remembers nothing', async () => {
  const userData = tempDir();
  assert.equal(await chooseDataLocation({ env: {}, userDataDir: userData, dialogs: scripted({ ask: ['quit'] }).dialogs }), null);
  assert.equal(await chooseDataLocation({ env: {}, userDataDir: userData, dialogs: scripted({ ask: ['choose'], pick: [null], problem: ['quit'] }).dialogs }), null);
  assert.equal(readStationConfig(userData), null);
});

test('a chosen folder that has gone (unplugged disk) is never replaced silently', async () => {
  const userData = tempDir();
  const gone = path.join(tempDir(), 'unmounted', 'data');
  writeStationConfig(userData, { dataDir: gone, chosenAt: '' });
  const q = scripted({ problem: ['quit'] });
  assert.equal(await chooseDataLocation({ env: {}, userDataDir: userData, dialogs: q.dialogs }), null);
  assert.match(q.asked[0], /not available/);
  assert.equal(fs.existsSync(gone), false, 'not recreated empty');
  const other = tempDir();
  const r = scripted({ problem: ['retry'], pick: [other] });
  assert.deepEqual(await chooseDataLocation({ env: {}, userDataDir: userData, dialogs: r.dialogs }), { dbPath: path.join(other, 'cxr.sqlite'), source: 'chosen' });
  assert.equal(readStationConfig(userData)?.dataDir, other);
});

test('CXR_DB wins, without asking', async () => {
  const s = scripted({});
  assert.deepEqual(await chooseDataLocation({ env: { CXR_DB: '/tmp/x/cases.sqlite' }, userDataDir: tempDir(), dialogs: s.dialogs }), { dbPath: '/tmp/x/cases.sqlite', source: 'env' });
  assert.deepEqual(s.asked, []);
});
