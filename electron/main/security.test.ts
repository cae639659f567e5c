import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hardenedWebPreferences, isAppUrl } from './security';

test('the window is created with hardened web preferences', () => {
  const p = hardenedWebPreferences('/app/preload.cjs');
  assert.equal(p.contextIsolation, true);
  assert.equal(p.sandbox, true);
  assert.equal(p.nodeIntegration, false);
  assert.equal(p.nodeIntegrationInWorker, false);
  assert.equal(p.nodeIntegrationInSubFrames, false);
  assert.equal(p.webSecurity, true);
  assert.equal(p.allowRunningInsecureContent, false);
  assert.equal(p.webviewTag, false);
  assert.equal(p.preload, '/app/preload.cjs');
});

test('only the app’s own page counts as the app', () => {
  const own = 'file:///opt/cxr/resources/app.asar/dist/renderer/index.html';
  assert.equal(isAppUrl(own, own), true);
  assert.equal(isAppUrl(`${own}#/case/3`, own), true);
  assert.equal(isAppUrl('file:///etc/passwd', own), false);
  assert.equal(isAppUrl('https://example.org/', own), false);
  assert.equal(isAppUrl('not a url', own), false);
});
