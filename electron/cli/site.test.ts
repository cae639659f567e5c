// `cxr site ...` on a case store read by the tiny test pack (results import with --dry-run, calibrate, fit with
// --activate, status, rollback) and on a small labelled data set (--manifest), each printing one JSON object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runSite } from './site';
import { runCli, shenzhenManifest } from '../testing/cli';
import { tinyPack } from '../core/inference/testPack';
import { datasetsDir, tempDir } from '../testing/index';
import { siteStore } from '../testing/site';
import type { SitePack } from '../core/site/threshold';

const pack = tinyPack();
const skip = pack.dir ? false : `tiny pack unavailable: ${pack.reason}`;

function tinySitePack(): SitePack {
  const m = JSON.parse(fs.readFileSync(path.join(pack.dir!, 'manifest.json'), 'utf8'));
  return { name: m.name, version: m.version, sha256: m.model_sha256, defaultThreshold: m.operating_point.tb_score_threshold, embeddingDim: m.embedding.dim };
}

test('cxr site on a case store: results import (dry run, then for real, then again), calibrate, fit --activate, status, rollback', { skip }, async () => {
  const p = tinySitePack();
  // 70 cases read by the tiny pack; the first 30 are TB. Results for all but the last two come from a CSV file.
  const { store, cases } = siteStore({ pack: p, positives: 30, negatives: 40, signal: 3, scoreSignal: 0.5, results: false });
  const db = store.dbPath;
  store.close();
  const csv = path.join(tempDir(), 'lab.csv');
  const lines = cases.slice(0, 68).map((c) => `ACC${c.caseId},xpert,${c.positive ? 'detected' : 'not detected'},2026-01-20`);
  fs.writeFileSync(csv, ['accession,test,result,date', ...lines, 'ACC999,xpert,detected,2026-01-20'].join('\n'));
  const common = ['--db', db, '--model', pack.dir!, '--json'];

  const dry = await runCli(runSite, ['results', 'import', csv, '--dry-run', ...common]);
  assert.equal(dry.code, 1, 'an unmatched row makes the dry run say it would not import');
  assert.deepEqual([dry.json().dryRun, dry.json().written, dry.json().counts.new, dry.json().counts.unmatched], [true, 0, 68, 1]);
  const refused = await runCli(runSite, ['results', 'import', csv, ...common]);
  assert.equal(refused.code, 1);
  assert.equal(refused.json().error.code, 'RESULTS_IMPORT_INVALID');
  const done = await runCli(runSite, ['results', 'import', csv, '--skip-unmatched', ...common]);
  assert.equal(done.code, 0, done.errs.join('\n'));
  assert.equal(done.json().written, 68);
  const again = await runCli(runSite, ['results', 'import', csv, '--skip-unmatched', ...common]);
  assert.deepEqual([again.json().written, again.json().counts.already_stored], [0, 68]);

  const cal = await runCli(runSite, ['calibrate', ...common]);
  assert.equal(cal.code, 0, cal.errs.join('\n'));
  const c = cal.json();
  assert.deepEqual([c.counts.positive, c.counts.negative], [30, 38]);
  assert.ok(c.auc.low <= c.auc.value && c.auc.value <= c.auc.high);
  assert.ok(c.table.length >= 19);
  assert.deepEqual([c.chosen.set, c.chosen.version, c.inForce.source], [false, null, 'pack']);
  assert.match(c.chosen.rule, /sensitivity ≥ 90 %/);
  const set = await runCli(runSite, ['calibrate', '--set', '--threshold', '42.5', ...common]);
  assert.deepEqual([set.json().chosen.set, set.json().chosen.threshold, set.json().inForce.value, set.json().inForce.label], [true, 42.5, 42.5, `site calibration version ${set.json().chosen.version}`]);

  const fit = await runCli(runSite, ['fit', '--activate', ...common]);
  assert.equal(fit.code, 0, fit.errs.join('\n'));
  const f = fit.json();
  assert.equal(f.head.eligible, true, f.head.verdict);
  assert.equal(f.activated, true);
  assert.match(f.why, /^activated as site calibration version \d+/);
  assert.equal(f.threshold.headId, f.head.id);
  const status = await runCli(runSite, ['status', ...common]);
  const s = status.json();
  assert.deepEqual([s.threshold.source, s.threshold.headId, s.heads[0].active], ['site', f.head.id, true]);
  assert.deepEqual(s.history.map((v: { kind: string }) => v.kind), ['threshold', 'threshold']);

  const { CaseStore } = await import('../core/store/index');
  const check = CaseStore.open(db);
  assert.equal(check.db.prepare('SELECT count(*) FROM studies WHERE ai_score_head = ?').pluck().get(f.head.id), 70, 'the worklist was re-scored by the head');
  check.close();

  const back = await runCli(runSite, ['rollback', ...common]);
  assert.deepEqual([back.json().version.kind, back.json().threshold.source], ['pack_default', 'pack']);
  const check2 = CaseStore.open(db);
  assert.equal(check2.db.prepare('SELECT count(*) FROM studies WHERE ai_score_head IS NOT NULL').pluck().get(), 0);
  check2.close();
  const twice = await runCli(runSite, ['rollback', ...common]);
  assert.equal(twice.json().version, null);

  const usage = await runCli(runSite, ['calibrate', '--threshold', '1', '--sensitivity', '0.9', ...common]);
  assert.equal(usage.code, 2);
});

test('cxr site calibrate|fit --manifest: fit on the train rows, report on the test rows', { skip: skip || (!fs.existsSync(shenzhenManifest) && `${shenzhenManifest} not found`) }, async () => {
  // a small labelled set: 6 TB and 6 normal Shenzhen images, two of each as the test split
  const rows = fs.readFileSync(shenzhenManifest, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; image: string; label: string });
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'images'));
  const picked = [...rows.filter((r) => r.label === 'tb').slice(0, 6), ...rows.filter((r) => r.label === 'normal').slice(0, 6)];
  const manifest = path.join(dir, 'manifest.jsonl');
  fs.writeFileSync(
    manifest,
    picked
      .map((r, i) => {
        fs.copyFileSync(path.join(datasetsDir, 'shenzhen', r.image), path.join(dir, 'images', path.basename(r.image)));
        return JSON.stringify({ id: r.id, image: `images/${path.basename(r.image)}`, label: r.label, split: i % 6 < 2 ? 'test' : 'train' });
      })
      .join('\n'),
  );
  const args = ['--manifest', manifest, '--model', pack.dir!, '--threads', '1', '--json'];
  const cal = await runCli(runSite, ['calibrate', ...args]);
  assert.equal(cal.code, 0, cal.lines.join('\n'));
  const c = cal.json();
  assert.deepEqual([c.mode, c.nTrain, c.nTest], ['split', 8, 4]);
  for (const k of ['auc', 'auc95', 'threshold', 'sensitivity', 'specificity']) assert.ok(k in c.base, `base.${k}`);
  assert.equal(c.model.name, 'tiny-test');
  const fit = await runCli(runSite, ['fit', ...args]);
  assert.equal(fit.code, 0, fit.lines.join('\n'));
  const f = fit.json();
  assert.deepEqual([f.nTrain, f.nTest], [8, 4]);
  for (const k of ['auc', 'auc95', 'threshold', 'sensitivity', 'specificity']) {
    assert.ok(k in f.base, `base.${k}`);
    assert.ok(k in f.site, `site.${k}`);
  }
  assert.equal(typeof f.site.eligibleOnTrain, 'boolean');
});
