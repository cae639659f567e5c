// `cxr site ...`: site calibration from the command line. On a case store (--db): import reference results from a
// CSV file, calibrate the threshold, fit (and activate) a site head, see what is in force, roll back to the pack's
// default; the worklist is re-scored before the command returns. On a data set (--manifest): the same fits on a
// manifest's labelled images, read by any pack (--model), and the simulation of a new site by repeated halves.
// Changes are audited as `cli:<operating-system user>`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseStore } from '../core/store/index';
import { toErrorInfo } from '../core/errors';
import { verifyPackFiles } from '../core/inference/index';
import {
  activateHead, calibrationHistory, calibrationReport, calibrateOnCases, chooseThreshold, fitOnCases, fitSiteHead, importResultsCsv, listHeads, planSplit,
  previewResultsCsv, readManifestCases, Rescorer, rollbackToPackDefault, scorerScores, setSiteThreshold, siteCases, simulateSites, thresholdInForce,
  type ManifestCase, type SitePack, type ThresholdChoice,
} from '../core/site/index';
import { openCliStore } from './store';
import { DEFAULT_MODEL_DIR, openAnalyzer, parse } from './analyze';
import type { Out } from './out';

const USAGE = `Usage: cxr site <command> [options]
  cxr site results import FILE.csv [--dry-run] [--skip-unmatched] [--json]   reference results (accession or patientId + studyDate, test, result, date, note)
  cxr site calibrate [--sensitivity 0.9 | --threshold T] [--set] [--json]   ROC AUC with its interval, threshold table, the chosen threshold (--set makes it the site threshold)
  cxr site fit [--activate [--sensitivity 0.9 | --threshold T]] [--json]    fit a site head on the confirmed cases; --activate puts it in force when the intervals support it
  cxr site status [--json]                                                  the threshold and score in force, the history
  cxr site rollback [--json]                                                back to the pack's default threshold and score
  cxr site calibrate --manifest FILE [--manifest FILE...] [--json]          the same on a data set's labelled images (fit on train rows, report on test rows,
  cxr site fit --manifest FILE [--manifest FILE...] [--json]                or cross-validate when there are no test rows)
  cxr site simulate --manifest FILE [--splits 20] [--seed 1] [--json]       a new site played by repeated random halves: base vs site head
Options: --db FILE (default: the app's own database), --model DIR (the pack; default: the bundled one), --ep, --threads,
  --train-split NAME (default train), --test-split NAME (default test), --exclude-split NAME (leave a split's rows out), --limit N`;

function cliActor(): { userId: null; username: string; displayName: string } {
  let name = 'unknown';
  try {
    name = os.userInfo().username || name;
  } catch {
    // no user database entry: keep the generic name
  }
  return { userId: null, username: `cli:${name}`, displayName: `cli:${name}` };
}

function sitePackOf(dir: string): SitePack {
  const v = verifyPackFiles(dir);
  return { name: v.name, version: v.version, sha256: v.sha256, defaultThreshold: v.tbScoreThreshold, embeddingDim: v.embeddingDim };
}

function choiceOf(values: Record<string, unknown>): ThresholdChoice | null {
  if (values.threshold !== undefined && values.sensitivity !== undefined) throw Object.assign(new Error('give --threshold or --sensitivity, not both'), { usage: true });
  if (values.threshold !== undefined) return { threshold: Number(values.threshold) };
  if (values.sensitivity !== undefined) return { sensitivity: Number(values.sensitivity) };
  return null;
}

/** Bring the store's worklist to the score in force now (what the app's background job does). */
async function rescore(store: CaseStore, pack: SitePack, out: Out, json: boolean): Promise<void> {
  const r = new Rescorer(store.db, () => pack, { progress: (p) => !json && p.state === 'running' && out.err(`  re-scored ${p.done}/${p.total} cases`), changed: () => {} });
  r.request();
  await r.idle();
}

const r4 = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 1e4) / 1e4);
const finite = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))) as T;

export async function runSite(argv: string[], out: Out): Promise<number> {
  const p = parse(argv, {
    db: { type: 'string' },
    manifest: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean', default: false },
    'skip-unmatched': { type: 'boolean', default: false },
    set: { type: 'boolean', default: false },
    activate: { type: 'boolean', default: false },
    threshold: { type: 'string' },
    sensitivity: { type: 'string' },
    splits: { type: 'string' },
    seed: { type: 'string' },
    limit: { type: 'string' },
    'train-split': { type: 'string' },
    'test-split': { type: 'string' },
    'exclude-split': { type: 'string', multiple: true },
    note: { type: 'string' },
  }, out, USAGE);
  if (!p) return 2;
  const o = p.values;
  const json = o.json === true;
  const [sub, ...rest] = p.positionals;
  if (o.help || !sub) {
    out.log(USAGE);
    return o.help ? 0 : 2;
  }
  const fail = (e: unknown, code = 1): number => {
    const error = toErrorInfo(e);
    if (json) out.log(JSON.stringify({ error }));
    else out.err(`cxr site ${sub}: ${error.code}: ${error.message}`);
    return code;
  };
  let choice: ThresholdChoice | null;
  try {
    choice = choiceOf(o);
  } catch (e) {
    out.err(`cxr site: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const manifests = (o.manifest as string[] | undefined) ?? [];
  if (manifests.length) {
    if (!['calibrate', 'fit', 'simulate'].includes(sub)) {
      out.err(`cxr site ${sub}: --manifest is for calibrate, fit and simulate\n${USAGE}`);
      return 2;
    }
    return runOnManifests(sub as 'calibrate' | 'fit' | 'simulate', manifests, o, out);
  }
  if (sub === 'simulate') {
    out.err(`cxr site simulate: name the data set with --manifest FILE\n${USAGE}`);
    return 2;
  }
  if (!['results', 'calibrate', 'fit', 'status', 'rollback'].includes(sub)) {
    out.err(`cxr site: unknown command '${sub}'\n${USAGE}`);
    return 2;
  }
  if (sub === 'results' && (rest[0] !== 'import' || !rest[1])) {
    out.err(`cxr site results: use cxr site results import FILE.csv\n${USAGE}`);
    return 2;
  }
  let store: CaseStore;
  try {
    store = openCliStore(o.db as string | undefined);
  } catch (e) {
    return fail(e);
  }
  try {
    const db = store.db;
    const actor = cliActor();
    if (sub === 'results') {
      const file = rest[1];
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        return fail(Object.assign(new Error(`${file} could not be read (${(e as NodeJS.ErrnoException).code ?? e})`), { code: 'NOT_FOUND' }));
      }
      const name = path.basename(file);
      if (o['dry-run']) {
        const preview = previewResultsCsv(db, text, name, { skipUnmatched: o['skip-unmatched'] === true });
        if (json) out.log(JSON.stringify({ dryRun: true, written: 0, ...preview }));
        else printPreview(preview, out);
        return preview.canImport ? 0 : 1;
      }
      const r = importResultsCsv(db, text, name, actor, { skipUnmatched: o['skip-unmatched'] === true });
      if (json) out.log(JSON.stringify({ dryRun: false, written: r.written, importId: r.importId, ...r.preview }));
      else {
        printPreview(r.preview, out);
        out.err(`${r.written} result${r.written === 1 ? '' : 's'} written`);
      }
      return 0;
    }
    const pack = sitePackOf((o.model as string | undefined) ?? DEFAULT_MODEL_DIR);
    if (sub === 'status') {
      const t = thresholdInForce(db, pack);
      const history = calibrationHistory(db, pack);
      const heads = listHeads(db, pack, t.headId).map((h) => ({ id: h.id, pack: h.pack, currentPack: h.currentPack, active: h.active, eligible: h.eligible, verdict: h.verdict, base: h.base, site: h.site, gain: h.gain, fittedAt: h.fittedAt }));
      const status = { pack, threshold: t, heads, history };
      if (json) out.log(JSON.stringify(finite(status)));
      else {
        out.log(`${pack.name} ${pack.version}: threshold ${t.value} (${t.label})${t.headId !== null ? `, scores by site head ${t.headId}` : ', the pack\'s own score'}`);
        for (const v of history.slice(0, 10)) out.log(`  version ${v.version}${v.inForce ? ' (in force)' : ''}${v.currentPack ? '' : ` [another model: ${v.pack.name} ${v.pack.version}]`}: ${v.kind === 'threshold' ? `threshold ${v.threshold}` : 'pack default'} — ${v.rule}; ${v.nPositive}+/${v.nNegative}− by ${v.by} at ${v.at}`);
      }
      return 0;
    }
    if (sub === 'rollback') {
      const v = rollbackToPackDefault(db, pack, actor, { note: o.note as string | undefined });
      await rescore(store, pack, out, json);
      if (json) out.log(JSON.stringify(finite({ version: v, threshold: thresholdInForce(db, pack) })));
      else out.log(v ? `version ${v.version}: back to the pack default threshold ${pack.defaultThreshold} and the pack's own score` : `already at the pack default (${pack.defaultThreshold})`);
      return 0;
    }
    if (sub === 'calibrate') {
      const report = calibrationReport(db, pack);
      const { cases } = siteCases(db, pack);
      const wanted = choice ?? { sensitivity: 0.9 };
      let chosen: { threshold: number; rule: string; version: number | null } | null = null;
      let chooseError: { code: string; message: string } | null = null;
      try {
        if (o.set) {
          const v = setSiteThreshold(db, pack, wanted, actor, { note: o.note as string | undefined });
          chosen = { threshold: v.threshold!, rule: v.rule, version: v.version };
        } else {
          const scores = scorerScores(db, cases, report.inForce.headId);
          chosen = { ...chooseThreshold(cases.map((c) => c.positive), scores, wanted), version: null };
        }
      } catch (e) {
        chooseError = toErrorInfo(e);
      }
      const body = {
        pack, inForce: o.set ? thresholdInForce(db, pack) : report.inForce, scorer: report.scorer, counts: report.counts, warnings: report.warnings,
        auc: report.site?.auc ?? report.base.auc, aucIntervalWidth: r4(report.aucIntervalWidth), baseAuc: report.base.auc,
        table: report.table, sensitivity90: report.sensitivity90, fingerprint: report.fingerprint,
        chosen: chosen ? { ...chosen, set: o.set === true } : null, error: chooseError,
      };
      if (json) out.log(JSON.stringify(finite(body)));
      else {
        const a = body.auc;
        out.log(`${pack.name} ${pack.version} on ${report.counts.positive} TB-positive and ${report.counts.negative} TB-negative confirmed cases (${report.scorer.label})`);
        out.log(a ? `AUC ${a.value.toFixed(3)} (95 % interval ${a.low.toFixed(3)}–${a.high.toFixed(3)})` : 'AUC: needs cases of both kinds');
        for (const w of report.warnings) out.log(`warning: ${w}`);
        out.log('threshold  sens   spec   PPV    NPV    flagged/100 (confirmed / station)');
        for (const r of report.table) {
          const f = (v: number | null) => (v === null ? '  —  ' : v.toFixed(3));
          out.log(`${r.threshold.toFixed(2).padStart(9)}  ${f(r.sensitivity)}  ${f(r.specificity)}  ${f(r.ppv)}  ${f(r.npv)}  ${r.flaggedPer100?.toFixed(1) ?? '—'} / ${r.flaggedPer100Station?.toFixed(1) ?? '—'}  ${r.marks.join(', ')}`);
        }
        if (chosen) out.log(`${o.set ? `site threshold set (version ${chosen.version})` : 'would choose'}: ${chosen.threshold} — ${chosen.rule}${o.set ? '' : ' (add --set to make it the site threshold)'}`);
        if (chooseError) out.err(`${chooseError.code}: ${chooseError.message}`);
      }
      if (o.set && chosen) await rescore(store, pack, out, json);
      return chooseError ? 1 : 0;
    }
    // fit
    const head = await fitSiteHead(db, pack, actor);
    let activated = false;
    let why: string;
    let version = null;
    if (!o.activate) why = head.eligible ? `eligible (${head.verdict}); not activated: pass --activate to put it in force` : `not eligible: ${head.verdict}`;
    else if (!head.eligible) why = `not activated: ${head.verdict}`;
    else {
      version = activateHead(db, pack, head.id, choice, actor, { note: o.note as string | undefined });
      activated = true;
      why = `activated as site calibration version ${version.version} (${version.rule}): ${head.verdict}`;
      await rescore(store, pack, out, json);
    }
    const body = {
      head: { id: head.id, pack: head.pack, nPositive: head.nPositive, nNegative: head.nNegative, lambda: head.lambda, folds: head.folds, seed: head.seed, base: head.base, site: head.site, gain: head.gain, eligible: head.eligible, verdict: head.verdict, sensitivity90: head.sensitivity90 },
      activated, why, version, threshold: thresholdInForce(db, pack),
    };
    if (json) out.log(JSON.stringify(finite(body)));
    else {
      out.log(`site head ${head.id} on ${head.nPositive}+/${head.nNegative}− cases, λ ${head.lambda}, ${head.folds}-fold: cross-validated AUC ${head.site.value.toFixed(3)} (${head.site.low.toFixed(3)}–${head.site.high.toFixed(3)}) against the pack's ${head.base.value.toFixed(3)} (${head.base.low.toFixed(3)}–${head.base.high.toFixed(3)})`);
      out.log(why);
    }
    return 0;
  } catch (e) {
    return fail(e);
  } finally {
    store.close();
  }
}

function printPreview(p: ReturnType<typeof previewResultsCsv>, out: Out): void {
  for (const r of p.rows) out.log(`line ${String(r.line).padStart(4)}  ${r.status.padEnd(17)} ${r.caseId === null ? '     —' : `case ${String(r.caseId).padStart(5)}`}  ${r.test} ${r.result} ${r.date}${r.message ? `  (${r.message})` : ''}`);
  out.err(Object.entries(p.counts).map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`).join(', '));
  for (const b of p.blockers) out.err(`not importable: ${b}`);
}

async function runOnManifests(sub: 'calibrate' | 'fit' | 'simulate', manifests: string[], o: Record<string, unknown>, out: Out): Promise<number> {
  const json = o.json === true;
  const analyzer = await openAnalyzer(o, out);
  if (!analyzer) return 2;
  try {
    const m = analyzer.pack.manifest;
    const model = { name: m.name, version: m.version, sha256: m.model_sha256, ep: analyzer.ep };
    const read = await readManifestCases(analyzer, manifests, {
      limit: o.limit ? Number(o.limit) : undefined,
      onProgress: (d, n) => { if (!json && (d % 50 === 0 || d === n)) out.err(`  read ${d}/${n}`); },
    });
    const excluded = new Set((o['exclude-split'] as string[] | undefined) ?? []);
    const cases: ManifestCase[] = read.cases.filter((c) => !excluded.has(c.split));
    const packThreshold = m.operating_point.tb_score_threshold;
    const common = { model, manifests: manifests.map((f) => path.resolve(f)), excludedSplits: [...excluded], failures: read.failures, skippedLabels: read.skippedLabels };
    if (sub === 'simulate') {
      const sources = [...new Set(cases.map((c) => c.source))].sort();
      const results = [];
      for (const source of sources) {
        const sim = await simulateSites(cases.filter((c) => c.source === source), packThreshold, {
          splits: o.splits ? Number(o.splits) : 20, seed: o.seed ? Number(o.seed) : 1, source,
          onSplit: (r) => { if (!json) out.err(`  ${source} split ${r.split + 1}: base AUC ${r.baseAuc.toFixed(3)}, site head ${r.siteAuc.toFixed(3)}`); },
        });
        results.push(sim);
      }
      out.log(JSON.stringify({ ...common, packThreshold, simulations: results }));
      return read.failures.length ? 1 : 0;
    }
    const plan = planSplit(cases, (o['train-split'] as string | undefined) ?? 'train', (o['test-split'] as string | undefined) ?? 'test');
    const r = sub === 'calibrate' ? calibrateOnCases(cases, packThreshold, plan) : await fitOnCases(cases, packThreshold, plan);
    out.log(JSON.stringify({ ...common, packThreshold, ...r }));
    return read.failures.length ? 1 : 0;
  } catch (e) {
    const error = toErrorInfo(e);
    if (json) out.log(JSON.stringify({ error }));
    else out.err(`cxr site ${sub}: ${error.code}: ${error.message}`);
    return 1;
  } finally {
    await analyzer.release();
  }
}
