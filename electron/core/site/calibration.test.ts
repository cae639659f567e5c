// The site threshold and the site head on a real (temporary) case store: the threshold in force and its versions,
// keyed to one pack; the calibration view's numbers and warnings; the site head's fit, judgement, activation and the
// re-scoring of the worklist; signed reports that keep their score; drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors';
import { listAudit, verifyAudit } from '../accounts/audit';
import { createUser } from '../accounts/users';
import { signCase } from '../accounts/signoff';
import { answerQuestion, draftReport, loadReport, imageFacts } from '../reporting/index';
import { facts, image } from '../reporting/testFacts';
import { gatherExportInput } from '../exports/gather';
import fs from 'node:fs';
import path from 'node:path';
import { importBytes } from '../importing/index';
import { datasetsDir } from '../../testing/index';
import { addSiteCases, siteStore, TEST_PACK } from '../../testing/site';
import { calibrationHistory, calibrationReport, rollbackToPackDefault, setSiteThreshold, siteCases } from './calibration';
import { activateHead, fitSiteHead, HEAD_MIN_CASES } from './head';
import { readingInForce } from './scoring';
import { Rescorer } from './rescore';
import { flagWorklistRow, thresholdInForce } from './threshold';
import { driftReport, ksTest } from './drift';

const admin = { userId: null, username: 'admin', displayName: 'Station Admin' };

test('the threshold in force: the pack default until a site version for this very pack sets one; rollback; history kept', () => {
  const { store, pack } = siteStore({ positives: 25, negatives: 30, scoreSignal: 2 });
  const db = store.db;
  assert.deepEqual({ ...thresholdInForce(db, pack), pack: undefined }, { value: 50, source: 'pack', version: null, headId: null, packDefault: 50, pack: undefined, label: 'pack default', setBy: null, setAt: null });
  const v1 = setSiteThreshold(db, pack, { threshold: 35 }, admin, { now: '2026-02-01T00:00:00Z' });
  assert.equal(v1.threshold, 35);
  assert.equal(v1.nPositive, 25);
  assert.equal(v1.nNegative, 30);
  assert.match(v1.fingerprint, /^[0-9a-f]{64}$/);
  const t = thresholdInForce(db, pack);
  assert.deepEqual([t.value, t.source, t.version, t.label, t.setBy], [35, 'site', v1.version, `site calibration version ${v1.version}`, 'Station Admin']);
  // the same pack name and version with another model file is another model: the site threshold does not apply
  const other = { ...pack, sha256: 'b'.repeat(64) };
  assert.equal(thresholdInForce(db, other).source, 'pack');
  const v2 = setSiteThreshold(db, pack, { sensitivity: 0.9 }, admin);
  assert.match(v2.rule, /sensitivity ≥ 90 %/);
  assert.ok(v2.sensitivity! >= 0.9);
  const back = rollbackToPackDefault(db, pack, admin)!;
  assert.equal(back.kind, 'pack_default');
  assert.equal(thresholdInForce(db, pack).source, 'pack');
  assert.equal(rollbackToPackDefault(db, pack, admin), null, 'already at the pack default: nothing new');
  const history = calibrationHistory(db, pack);
  assert.deepEqual(history.map((v) => [v.version, v.kind, v.inForce]), [[back.version, 'pack_default', false], [v2.version, 'threshold', false], [v1.version, 'threshold', false]]);
  assert.ok(calibrationHistory(db, other).every((v) => !v.currentPack), 'shown as another model for a new pack');
  assert.throws(() => db.prepare('UPDATE site_calibrations SET threshold = 1').run(), /SITE_APPEND_ONLY/);
  assert.throws(() => db.prepare('DELETE FROM site_calibrations').run(), /SITE_APPEND_ONLY/);
  assert.deepEqual(listAudit(db, { targetType: 'site_calibration' }).map((e) => e.action), ['site.rollback', 'site.threshold', 'site.threshold']);
  assert.equal(verifyAudit(db).ok, true);
  assert.throws(() => setSiteThreshold(db, pack, { threshold: 120 }, admin), (e: AppError) => e.code === 'BAD_REQUEST');
});

test('a site threshold needs confirmed cases of both kinds; the view warns below 20 of either and shows the interval', () => {
  const few = siteStore({ positives: 6, negatives: 9, scoreSignal: 2 });
  const r = calibrationReport(few.store.db, few.pack);
  assert.deepEqual(r.counts, { positive: 6, negative: 9, excluded: 0, withoutReading: 0 });
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /Only 6 TB-positive and 9 TB-negative .* below 20 of each.* interval is 0\.\d\d wide/);
  assert.ok(r.aucIntervalWidth! > 0);
  assert.equal(r.base.roc[0].tpr, 0);
  assert.equal(r.base.roc.at(-1)!.fpr, 1);
  const marks = r.table.filter((row) => row.marks.length).map((row) => row.marks.join('+'));
  assert.ok(marks.some((m) => m.includes('pack default')) && marks.some((m) => m.includes('in force')) && marks.some((m) => m.includes('90 % sensitivity')), marks.join(' | '));
  assert.equal(r.stationCases, 15);
  const none = siteStore({ positives: 3, negatives: 0 });
  assert.throws(() => setSiteThreshold(none.store.db, none.pack, { threshold: 30 }, admin), (e: AppError) => e.code === 'SITE_TOO_FEW_CASES');
  // a case whose only result is an invalid Xpert is left out, and said to be
  none.store.db.prepare("INSERT INTO reference_results (case_ref, test, result, result_date, source, entered_by, entered_at) VALUES (1, 'xpert', 'invalid', '2026-01-21', 'cli', 't', 'now')").run();
  none.store.db.prepare("INSERT INTO reference_results (case_ref, test, result, result_date, source, entered_by, entered_at) VALUES (1, 'culture', 'contaminated', '2026-01-22', 'cli', 't', 'now')").run();
  assert.equal(siteCases(none.store.db, none.pack).counts.positive, 3);
});

const PNG = path.join(datasetsDir, 'shenzhen', 'images', 'CHNCXR_0004_0.png');
const PNG2 = path.join(datasetsDir, 'shenzhen', 'images', 'CHNCXR_0010_0.png');

test('the report, the answers and the exports use the threshold in force; a signed report keeps its own', { skip: fs.existsSync(PNG) ? false : `${PNG} not found` }, async () => {
  const { store, pack } = siteStore({ positives: 22, negatives: 22, scoreSignal: 2 });
  const db = store.db;
  // two real images (the exports read their pixels), each with a reading by the pack
  const read = async (file: string, score: number) => {
    const o = await importBytes(store, fs.readFileSync(file), path.basename(file));
    assert.equal(o.status, 'imported');
    const imageId = (o as { imageId: number }).imageId;
    const { analysisId, caseId } = store.saveAnalysis({
      imageId, model: { name: pack.name, version: pack.version, sha256: pack.sha256, ep: 'cpu' }, tbScore: score, label: 'tb',
      result: { threshold: pack.defaultThreshold, probabilities: [], boxes: [], lungs: { right: [[10, 10], [200, 10], [200, 400], [10, 400]], left: [[300, 10], [500, 10], [500, 400], [300, 400]] }, zones: [] },
      embedding: new Float32Array(8), baseLogit: Math.log(score / (100 - score)),
    });
    return { imageId, analysisId, caseId, score };
  };
  const a = await read(PNG, 30);
  const radiologist = await createUser(db, { username: 'rad', displayName: 'Dr Rad', role: 'radiologist', password: 'long-password-1' }, { userId: null, username: 'setup' });
  signCase(db, a.caseId, { userId: radiologist.id, username: 'rad', displayName: 'Dr Rad', role: 'radiologist' });
  const signedText = loadReport(db, a.caseId).text;
  assert.match(signedText, /30\.0 of 100, below the operating threshold of 50\.0 \(model site-test-pack 1\.0\.0\)/);
  const v = setSiteThreshold(db, pack, { threshold: 12.5 }, admin);
  // signed case: the text, the facts and the export keep what was signed
  assert.equal(loadReport(db, a.caseId).text, signedText);
  assert.equal(imageFacts(db, a.imageId).ai?.threshold, 50);
  const exported = gatherExportInput(store, a.caseId);
  assert.deepEqual([exported.analysis?.threshold, exported.analysis?.thresholdOrigin], [50, 'pack default']);
  // the same reading unsigned (an amendment would see it): the site threshold, named with its version
  const r = readingInForce(db, a.analysisId)!;
  assert.deepEqual([r.threshold.value, r.flagged], [12.5, true]);
  const { cases } = siteCases(db, pack);
  assert.ok(cases.length >= 44);
  const b = await read(PNG2, 30);
  assert.match(loadReport(db, b.caseId).text, new RegExp(`30\\.0 of 100, at or above the site operating threshold of 12\\.5 \\(site calibration version ${v.version}; model site-test-pack 1\\.0\\.0\\)`));
  assert.match(answerQuestion(imageFacts(db, b.imageId), 'what is the TB score?').answer, new RegExp(`^The AI TB score is 30\\.0 of 100, at or above the site operating threshold of 12\\.5 \\(site calibration version ${v.version}; model site-test-pack 1\\.0\\.0\\)\\.$`));
  assert.equal(answerQuestion(imageFacts(db, b.imageId), 'what is the TB score?').evidence.thresholdOrigin, `site calibration version ${v.version}`);
  const live = gatherExportInput(store, b.caseId);
  assert.deepEqual([live.analysis?.threshold, live.analysis?.thresholdOrigin, live.analysis?.tbScore], [12.5, `site calibration version ${v.version}`, 30]);
});

test('a site-adapted score is named as such, with its head, in the draft and the answers', () => {
  const f = facts(image([], { ai: { tbScore: 71.25, threshold: 40, modelName: 'cxr-tb-v1', modelVersion: '1.2.1', thresholdSource: 'site', thresholdVersion: 4, siteHead: 2 } }));
  assert.match(draftReport(f).text, /AI TB SCORE\n71\.3 of 100 \(site-adapted score, site head 2\), at or above the site operating threshold of 40\.0 \(site calibration version 4; model cxr-tb-v1 1\.2\.1\)\./);
  assert.match(answerQuestion(f.images[0], 'is there TB?').answer, /the site-adapted AI TB score \(site head 2\) is 71\.3 of 100, at or above the site operating threshold of 40\.0 \(site calibration version 4\)/);
});

test('site head: refused below 40 cases; fitted deterministically; judged against the pack; activated; the worklist re-scored; another pack refused', async () => {
  const small = siteStore({ positives: 15, negatives: 20, signal: 3 });
  await assert.rejects(fitSiteHead(small.store.db, small.pack, admin), (e: AppError) => e.code === 'SITE_TOO_FEW_CASES' && new RegExp(`at least ${HEAD_MIN_CASES}`).test(e.message));

  const { store, pack, cases } = siteStore({ positives: 30, negatives: 40, signal: 3, scoreSignal: 0.5 });
  const db = store.db;
  const head = await fitSiteHead(db, pack, admin, { now: '2026-02-01T00:00:00Z' });
  assert.equal(head.nPositive, 30);
  assert.ok(head.site.value > head.base.value + 0.1, `site ${head.site.value} vs base ${head.base.value}`);
  assert.ok(head.gain.low > 0, JSON.stringify(head.gain));
  assert.equal(head.eligible, true);
  await fitSiteHead(db, pack, admin, { now: '2026-02-01T00:00:00Z' });
  const models = db.prepare('SELECT model_json, cv_json FROM site_heads ORDER BY id').all() as { model_json: string; cv_json: string }[];
  assert.equal(models[0].model_json, models[1].model_json, 'the same cases give the same head');
  assert.equal(models[0].cv_json, models[1].cv_json);
  assert.throws(() => db.prepare('DELETE FROM site_heads').run(), /SITE_APPEND_ONLY/);

  const otherPack = { ...pack, version: '2.0.0' };
  assert.throws(() => activateHead(db, otherPack, head.id, null, admin), (e: AppError) => e.code === 'SITE_OTHER_MODEL' && /fitted for site-test-pack 1\.0\.0/.test(e.message));

  const v = activateHead(db, pack, head.id, null, admin);
  assert.equal(v.headId, head.id);
  assert.match(v.rule, /out-of-fold/);
  const t = thresholdInForce(db, pack);
  assert.deepEqual([t.source, t.headId, t.value], ['site', head.id, v.threshold]);
  // before the background job, the worklist still holds the pack's scores
  assert.equal(db.prepare('SELECT count(*) FROM studies WHERE ai_score_head IS NOT NULL').pluck().get(), 0);
  const progress: string[] = [];
  const job = new Rescorer(db, () => pack, { progress: (p) => progress.push(`${p.state} ${p.done}/${p.total}`), changed: () => {} });
  job.request();
  await job.idle();
  assert.equal(progress.at(-1), 'idle 70/70');
  assert.equal(db.prepare('SELECT count(*) FROM studies WHERE ai_score_head = ?').pluck().get(head.id), 70);
  const r = readingInForce(db, cases[0].analysisId)!;
  assert.equal(r.headId, head.id);
  assert.notEqual(r.score, r.baseScore);
  assert.equal(db.prepare('SELECT ai_score FROM studies WHERE id = ?').pluck().get(cases[0].caseId), r.score);
  // the re-scored case still names the pack its score comes from, so the worklist flags it against the pack in use
  assert.deepEqual(db.prepare('SELECT ai_score_model, ai_model_name, ai_model_version FROM studies WHERE id = ?').get(cases[0].caseId), {
    ai_score_model: pack.sha256.toLowerCase(), ai_model_name: pack.name, ai_model_version: pack.version,
  });
  assert.equal(db.prepare('SELECT count(*) FROM site_scores WHERE head_ref = ?').pluck().get(head.id), 70);
  // the calibration view now tables the head's out-of-fold scores, and draws both curves
  const report = calibrationReport(db, pack);
  assert.equal(report.scorer.headId, head.id);
  assert.ok(report.site && report.site.auc!.value > report.base.auc!.value);
  // a new case read after activation is scored by the head when the station stores it (SiteService.onAnalysis)
  // rollback: back to the pack's own score on the next run
  rollbackToPackDefault(db, pack, admin);
  job.request();
  await job.idle();
  assert.equal(db.prepare('SELECT count(*) FROM studies WHERE ai_score_head IS NOT NULL').pluck().get(), 0);
  assert.equal(db.prepare('SELECT ai_score FROM studies WHERE id = ?').pluck().get(cases[0].caseId), cases[0].tbScore);
  assert.deepEqual(listAudit(db, { targetType: 'site_head' }).map((e) => e.action), ['site.head_fit', 'site.head_fit']);
});

test('a site head without real gain is not activated; readings without an embedding are left out of a fit', async () => {
  const { store, pack } = siteStore({ positives: 25, negatives: 30, signal: 0, scoreSignal: 2 });
  const head = await fitSiteHead(store.db, pack, admin);
  assert.equal(head.eligible, false);
  assert.match(head.verdict, /not shown to be better/);
  assert.throws(() => activateHead(store.db, pack, head.id, null, admin), (e: AppError) => e.code === 'SITE_HEAD_NOT_ELIGIBLE');
  const noEmbedding = { ...TEST_PACK, name: 'older-pack', embeddingDim: null };
  await assert.rejects(fitSiteHead(store.db, noEmbedding, admin), (e: AppError) => e.code === 'SITE_OTHER_MODEL' && /no embedding output/.test(e.message));
});

test('a new pack (another version, another embedding size): the old site threshold and head stay history, the new pack starts at its default', async () => {
  const { store, pack, cases } = siteStore({ positives: 30, negatives: 40, signal: 3, scoreSignal: 0.5 });
  const db = store.db;
  const head = await fitSiteHead(db, pack, admin);
  activateHead(db, pack, head.id, { threshold: 40 }, admin);
  const job = new Rescorer(db, () => pack, { progress: () => {}, changed: () => {} });
  job.request();
  await job.idle();
  // the new pack reads the first ten cases again (its embedding has 12 values, not 8)
  const next = { ...pack, version: '1.3.0', sha256: 'c'.repeat(64), defaultThreshold: 45, embeddingDim: 12 };
  for (const c of cases.slice(0, 10)) {
    store.saveAnalysis({ imageId: c.imageId, model: { name: next.name, version: next.version, sha256: next.sha256, ep: 'cpu' }, tbScore: 60, label: 'tb', result: { threshold: 45 }, embedding: new Float32Array(12), baseLogit: 0.4 });
  }
  const t = thresholdInForce(db, next);
  assert.deepEqual([t.value, t.source, t.headId], [45, 'pack', null]);
  assert.ok(calibrationHistory(db, next).every((v) => !v.currentPack));
  const rows = store.findCasesForWorklist({ sort: { key: 'importedAt', dir: 'asc' }, filter: {}, offset: 0, limit: 100 }).rows.map((r) => flagWorklistRow(r, t));
  // read again: the new pack's score, its own, flagged against its default
  assert.ok(rows.slice(0, 10).every((r) => r.aiScore === 60 && r.aiScoreHead === null && !r.aiScoreStale && r.flagged));
  // not read again yet: the old head's score stays on the row, marked stale and not flagged against the new pack
  assert.ok(rows.slice(10).every((r) => r.aiScoreHead === head.id && r.aiScoreStale && !r.flagged));
  // the old pack's head cannot be put in force for the new pack, and a head for the new pack needs its own cases
  assert.throws(() => activateHead(db, next, head.id, null, admin), (e: AppError) => e.code === 'SITE_OTHER_MODEL');
  await assert.rejects(fitSiteHead(db, next, admin), (e: AppError) => e.code === 'SITE_TOO_FEW_CASES');
  // a re-scoring run for the new pack leaves the old pack's scores alone
  const nextJob = new Rescorer(db, () => next, { progress: () => {}, changed: () => {} });
  nextJob.request();
  await nextJob.idle();
  assert.equal(db.prepare('SELECT count(*) FROM studies WHERE ai_score_head = ?').pluck().get(head.id), 60);
});

test('a re-scoring run that fails stops, says why, and leaves the next request free to try again', async () => {
  const { store, pack } = siteStore({ positives: 2, negatives: 2 });
  let fail = true;
  const job = new Rescorer(store.db, () => {
    if (fail) throw new Error('the database is busy');
    return pack;
  }, { progress: () => {}, changed: () => {} });
  job.request();
  await job.idle();
  assert.deepEqual([job.progress().state, job.progress().error], ['idle', 'the database is busy']);
  fail = false;
  job.request();
  await job.idle();
  assert.deepEqual([job.progress().state, job.progress().error], ['idle', null]);
});

test('drift: a month whose scores moved away from the calibration cases is named', () => {
  const { store, pack } = siteStore({ positives: 30, negatives: 30, scoreSignal: 2, studyDate: '20260115' });
  // February: 40 unconfirmed cases, all scored high
  addSiteCases(store, { positives: 40, negatives: 0, scoreSignal: 8, results: false, studyDate: '20260210', seed: 3, tag: 'feb' }, 1000);
  const d = driftReport(store.db, pack);
  assert.deepEqual(d.months.map((m) => [m.month, m.n]), [['2026-01', 60], ['2026-02', 40]]);
  assert.equal(d.months[0].warning, null);
  assert.match(d.months[1].warning!, /2026-02: flag rate 100 % against \d+ % in the calibration cases; score distribution differs/);
  assert.equal(d.reference.n, 60);
  assert.ok(ksTest([1, 2, 3], [1, 2, 3])!.p > 0.99);
  assert.ok(ksTest([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [11, 12, 13, 14, 15, 16, 17, 18, 19, 20])!.p < 0.001);
});
