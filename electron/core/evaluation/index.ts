// Evaluation service: run a model pack over data-set manifests (../shared/datasets/<set>/manifest.jsonl) and
// report classification, detection and lung-segmentation metrics per source and pooled (./metrics).
//
// Splits. With splitRule 'pack' (the default) a row's split is the one the model was trained and tuned with
// (models/training/data.py SPLIT_RULE): for tbx11k, shenzhen and tbx11k_extra_da_db, whose manifests have no test
// split, the official 'val' rows are divided by sha256(id) — first hex digit < 8 → 'val', else 'test' — and of
// the byte-identical DA/DB pairs the non-train copy is dropped. splitRule 'manifest' takes the manifest's split.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError, toErrorInfo } from '../errors';
import { analyzeDetailed, decodeFile, SCOPE_LIMITS, type Analyzer, type LungFieldMeasures } from '../inference/index';
import { rasterizePolygon, type Point } from '../inference/postprocess';
import type { Letterbox } from '../inference/preprocess';
import {
  aucWithInterval, averagePrecision, binaryStats, cocoMap, dice, maskIou, mean, meanAp50, rocAuc, sensitivityAtSpecificity,
  specificityAtSensitivity, type DetBox, type GtBox,
} from './metrics';
import { evaluateLanguage, type LanguageItem, type LanguageReport } from './language';

export * from './metrics';
export { evaluateLanguage, groundTruthQuestions, readingFindings, type LanguageReport } from './language';

export type SplitRule = 'pack' | 'manifest';

export interface EvaluateOptions {
  /** 'all': every row, whatever its split (a source the model never saw, scored whole) */
  split?: 'test' | 'val' | 'train' | 'all';
  /** only the rows of these sources (the manifest's folder name, e.g. shenzhen) */
  sources?: string[];
  splitRule?: SplitRule;
  /** lowest box score kept for AP (the display threshold hides low-scoring boxes, which AP needs) */
  detScoreFloor?: number;
  /** at most this many rows per manifest (in file order), for quick checks */
  limit?: number;
  /** include one line per image in the report */
  includeRows?: boolean;
  onProgress?(done: number, total: number): void;
}

export interface ManifestRow {
  id: string;
  image: string;
  split: string;
  label: string;
  boxes?: { x0: number; y0: number; x1: number; y1: number; cls: string }[];
  mask?: string | null;
  lung_polygons?: { right_lung?: Point[]; left_lung?: Point[] } | null;
  mask_info?: { confidence?: string } | null;
  [k: string]: unknown;
}

export interface EvalRow {
  id: string;
  source: string;
  file: string;
  label: string;
  split: string;
}

const HOLDOUT_FROM_VAL = new Set(['tbx11k', 'shenzhen', 'tbx11k_extra_da_db']);
const DADB_DUPES: [string, string][] = [['dadb_n5', 'dadb_n31'], ['dadb_n1', 'dadb_n28'], ['dadb_n6', 'dadb_n32'], ['dadb_n2', 'dadb_n30']];

/** Rows of a manifest with the split each belongs to under the rule. */
export function readManifest(manifestPath: string, rule: SplitRule = 'pack'): (ManifestRow & { _split: string; _source: string; _path: string; _dir: string })[] {
  let text: string;
  try {
    text = fs.readFileSync(manifestPath, 'utf8');
  } catch (e) {
    throw new AppError('NOT_FOUND', `Manifest ${manifestPath} could not be read (${(e as NodeJS.ErrnoException).code ?? e}).`, { cause: e });
  }
  const source = path.basename(path.dirname(path.resolve(manifestPath)));
  const dir = path.dirname(path.resolve(manifestPath));
  const rows = text.split('\n').map((l) => l.trim()).filter(Boolean).map((l, k) => {
    try {
      return JSON.parse(l) as ManifestRow;
    } catch {
      throw new AppError('BAD_REQUEST', `Manifest ${manifestPath}: line ${k + 1} is not JSON.`);
    }
  });
  const drop = new Set<string>();
  if (rule === 'pack') {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [a, b] of DADB_DUPES) {
      const ra = byId.get(a);
      const rb = byId.get(b);
      if (!ra || !rb) continue;
      if (ra.split === 'train' && rb.split !== 'train') drop.add(b);
      else if (rb.split === 'train' && ra.split !== 'train') drop.add(a);
      else if (ra.split !== 'train') drop.add(b);
    }
  }
  return rows.filter((r) => !drop.has(r.id) && typeof r.image === 'string').map((r) => {
    let sp = r.split;
    if (rule === 'pack' && HOLDOUT_FROM_VAL.has(source) && sp === 'val') {
      sp = parseInt(crypto.createHash('sha256').update(r.id).digest('hex')[0], 16) < 8 ? 'val' : 'test';
    }
    return { ...r, _split: sp, _source: source, _path: path.join(dir, r.image), _dir: dir };
  });
}

/** Letterbox label map → original pixel grid (nearest letterbox pixel to each pixel centre). */
function labelsToSource(labels: Uint8Array, g: Letterbox): Uint8Array {
  const out = new Uint8Array(g.srcW * g.srcH);
  const S = g.size;
  for (let y = 0; y < g.srcH; y++) {
    const ly = Math.min(S - 1, Math.max(0, Math.floor(((y + 0.5) * g.newH) / g.srcH + g.padY)));
    for (let x = 0; x < g.srcW; x++) {
      const lx = Math.min(S - 1, Math.max(0, Math.floor(((x + 0.5) * g.newW) / g.srcW + g.padX)));
      out[y * g.srcW + x] = labels[ly * S + lx];
    }
  }
  return out;
}

interface Collected {
  source: string;
  id: string;
  label: string;
  tbScore: number;
  predLabel: string;
  /** argmax of the class probabilities (three-class accuracy, as models/training/evaluate.py) */
  argmax: string;
  dets: DetBox[] | null;
  gts: GtBox[] | null;
  seg: { diceR: number | null; diceL: number | null; diceBoth: number | null; iouR: number | null; iouL: number | null; iouBoth: number | null; rawR: number | null; rawL: number | null } | null;
  ms: number;
}

const r4 = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 1e4) / 1e4);
/** The AUC's stratified bootstrap 95 % interval as [low, high], rounded like the other figures; null without both classes. */
function auc95(y: boolean[], s: number[]): [number, number] | null {
  const i = aucWithInterval(y, s);
  return i ? [r4(i.low)!, r4(i.high)!] : null;
}

function block(items: Collected[], threshold: number, classNames: string[], detClasses: string[]) {
  const y = items.map((c) => c.label === 'tb');
  const s = items.map((c) => c.tbScore);
  const st = binaryStats(y, s, threshold);
  const at90 = specificityAtSensitivity(y, s, 0.9);
  const at70 = sensitivityAtSpecificity(y, s, 0.7);
  // three-class accuracy where the label names one class (non_tb in TBX11K DA/DB may be healthy or sick)
  const exact = items.filter((c) => c.label === 'tb' || c.label === 'normal' || (c.label === 'non_tb' && c.source !== 'tbx11k_extra_da_db'));
  const want = (l: string) => (l === 'tb' ? classNames[2] : l === 'normal' ? classNames[0] : classNames[1]);
  const classification = {
    n: st.n, nTb: st.nPositive, nNotTb: st.nNegative, threshold,
    accuracy: r4(st.accuracy), sensitivity: r4(st.sensitivity), specificity: r4(st.specificity),
    tp: st.tp, tn: st.tn, fp: st.fp, fn: st.fn,
    auc: r4(rocAuc(y, s)),
    /** stratified bootstrap 95 % interval of the AUC (2000 replicates, fixed seed) */
    auc95: auc95(y, s),
    specificityAt90Sensitivity: at90 ? r4(at90.specificity) : null,
    sensitivityAt70Specificity: at70 ? r4(at70.sensitivity) : null,
    accuracy3: exact.length ? r4(exact.filter((c) => c.argmax === want(c.label)).length / exact.length) : null,
    n3: exact.length,
  };
  const det = items.filter((c) => c.dets && c.gts);
  let detection: Record<string, number | null> | null = null;
  if (det.length) {
    const dets = det.map((c) => c.dets!);
    const gts = det.map((c) => c.gts!);
    detection = { nImages: det.length, nBoxes: gts.reduce((a, g) => a + g.length, 0) };
    detClasses.forEach((cn, ci) => (detection![`AP50_${cn}`] = r4(averagePrecision(dets, gts, 0.5, ci))));
    detection.mAP50 = r4(meanAp50(dets, gts, detClasses.length));
    detection.AP50_agnostic = r4(averagePrecision(dets, gts, 0.5, null));
    detection.mAP50_95 = r4(cocoMap(dets, gts, detClasses.length));
  }
  const seg = items.filter((c) => c.seg);
  const segmentation = seg.length ? {
    n: seg.length,
    diceRight: r4(mean(seg.map((c) => c.seg!.diceR))), diceLeft: r4(mean(seg.map((c) => c.seg!.diceL))),
    diceMeanLR: r4(mean([mean(seg.map((c) => c.seg!.diceR)), mean(seg.map((c) => c.seg!.diceL))])),
    diceBothLungs: r4(mean(seg.map((c) => c.seg!.diceBoth))),
    iouRight: r4(mean(seg.map((c) => c.seg!.iouR))), iouLeft: r4(mean(seg.map((c) => c.seg!.iouL))),
    iouBothLungs: r4(mean(seg.map((c) => c.seg!.iouBoth))),
    /** Dice of the raw argmax (all components, nearest-neighbour to original pixels), as models/training/evaluate.py */
    diceMeanLRRawArgmax: r4(mean([mean(seg.map((c) => c.seg!.rawR)), mean(seg.map((c) => c.seg!.rawL))])),
  } : null;
  return { classification, detection, segmentation };
}

export type EvaluationBlock = ReturnType<typeof block>;

export interface ScopeReport {
  checked: number;
  refused: { id: string; source: string; reasons: string[] }[];
  /** per measure: the most extreme value over the images, its image, and the limit it is held to */
  extremes: Record<string, { value: number; id: string; limit: number; side: 'min' | 'max' }>;
}

/** Each measure with the direction its limit bounds and the limit (see SCOPE_LIMITS). */
const SCOPE_MEASURES: [string, (m: LungFieldMeasures) => number, 'min' | 'max', number][] = [
  ['fineVariance', (m) => m.fineVariance, 'max', SCOPE_LIMITS.maxFineVariance],
  ['fieldArea', (m) => Math.min(m.rightArea, m.leftArea), 'min', SCOPE_LIMITS.minFieldArea],
  ['totalArea (low)', (m) => m.rightArea + m.leftArea, 'min', SCOPE_LIMITS.minTotalArea],
  ['totalArea (high)', (m) => m.rightArea + m.leftArea, 'max', SCOPE_LIMITS.maxTotalArea],
  ['fieldArea (high)', (m) => Math.max(m.rightArea, m.leftArea), 'max', SCOPE_LIMITS.maxFieldArea],
  ['compactness', (m) => Math.min(m.rightCompactness, m.leftCompactness), 'min', SCOPE_LIMITS.minCompactness],
  ['sideSeparation', (m) => m.leftCx - m.rightCx, 'min', SCOPE_LIMITS.minSideSeparation],
  ['centreHeight', (m) => Math.min(m.rightCy, m.leftCy), 'min', SCOPE_LIMITS.minCentreHeight],
  ['heightDifference', (m) => Math.abs(m.rightCy - m.leftCy), 'max', SCOPE_LIMITS.maxHeightDifference],
  ['confidence', (m) => m.confidence, 'min', SCOPE_LIMITS.minConfidence],
];

function scopeReport(seen: { id: string; source: string; measures: LungFieldMeasures | null; reasons: string[] | null }[]): ScopeReport {
  const extremes: ScopeReport['extremes'] = {};
  for (const [name, f, side, limit] of SCOPE_MEASURES) {
    for (const s of seen) {
      if (!s.measures) continue;
      const v = f(s.measures);
      const e = extremes[name];
      if (!e || (side === 'min' ? v < e.value : v > e.value)) extremes[name] = { value: Math.round(v * 1e4) / 1e4, id: s.id, limit, side };
    }
  }
  return { checked: seen.length, refused: seen.filter((s) => s.reasons).map((s) => ({ id: s.id, source: s.source, reasons: s.reasons! })), extremes };
}

export interface EvaluationReport {
  model: { name: string; version: string; ep: string; sha256: string };
  split: string;
  splitRule: SplitRule;
  detScoreFloor: number;
  manifests: string[];
  pooled: EvaluationBlock;
  /** the shortcut check: TBX11K is all TB, so a pooled figure without it shows what the model does on mixed sources */
  pooledWithoutTbx11k: EvaluationBlock | null;
  sources: Record<string, EvaluationBlock>;
  failures: { id: string; source: string; file: string; error: { code: string; message: string } }[];
  /**
   * The out-of-scope rule (inference/scope) on these images, which are all chest radiographs: the images it would
   * refuse (the station gives them no score; they are still counted in the metrics above), and how close the
   * images came to each limit (the most extreme value of each measure beside its limit).
   */
  scope: ScopeReport;
  medianAnalysisMs: number | null;
  /** drafted reports against the data sets' clinical readings (BLEU-4, ROUGE-L), and closed-question accuracy */
  language: LanguageReport;
  rows?: { id: string; source: string; label: string; tbScore: number; predLabel: string; nBoxes: number }[];
}

/** Run the analyzer over the chosen split of one or more manifests; metrics per source and pooled. */
export async function evaluateManifest(analyzer: Analyzer, manifestPath: string | string[], opts: EvaluateOptions = {}): Promise<EvaluationReport> {
  const split = opts.split ?? 'test';
  const rule = opts.splitRule ?? 'pack';
  const floor = opts.detScoreFloor ?? 0.05;
  const paths = Array.isArray(manifestPath) ? manifestPath : [manifestPath];
  const m = analyzer.pack.manifest;
  const detClasses = m.det_class_names;
  const rows = paths.flatMap((p) => {
    const r = readManifest(p, rule).filter((x) => (split === 'all' || x._split === split) && (!opts.sources?.length || opts.sources.includes(x._source)));
    return opts.limit ? r.slice(0, opts.limit) : r;
  });
  if (opts.sources?.length) {
    const known = new Set(paths.map((p) => path.basename(path.dirname(path.resolve(p)))));
    const missing = opts.sources.filter((s) => !known.has(s));
    if (missing.length) throw new AppError('BAD_REQUEST', `No manifest of source ${missing.join(', ')} was given (sources: ${[...known].join(', ')}).`);
  }
  const collected: Collected[] = [];
  const language: LanguageItem[] = [];
  const failures: EvaluationReport['failures'] = [];
  const scopeSeen: Parameters<typeof scopeReport>[0] = [];
  let done = 0;
  for (const row of rows) {
    try {
      const { decoded, ms: dms } = await decodeFile(row._path);
      const { result, labels, geometry: g, probs, scope } = await analyzeDetailed(analyzer, decoded, dms, { minBoxScore: floor, scope: 'report' });
      scopeSeen.push({ id: row.id, source: row._source, measures: scope.measures, reasons: scope.inScope ? null : scope.reasons });
      const W = decoded.columns;
      const H = decoded.rows;
      const gtBoxes = (row.boxes ?? []).filter((b) => detClasses.includes(b.cls));
      const c: Collected = {
        source: row._source, id: row.id, label: row.label, tbScore: result.tbScore, predLabel: result.label,
        argmax: m.class_names[probs.indexOf(Math.max(...probs))],
        dets: null, gts: null, seg: null, ms: result.timingsMs.total,
      };
      if (gtBoxes.length) {
        c.gts = gtBoxes.map((b) => ({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, cls: detClasses.indexOf(b.cls) }));
        c.dets = result.boxes.map((b) => ({ x0: b.x, y0: b.y, x1: b.x + b.w, y1: b.y + b.h, score: b.score, cls: detClasses.indexOf(b.label) }));
      }
      const polys = row.lung_polygons;
      const segOk = (row.mask_info?.confidence ?? 'ok') === 'ok';
      if (segOk && (polys?.right_lung?.length || polys?.left_lung?.length || row.mask)) {
        const pred = new Uint8Array(W * H);
        rasterizePolygon(result.lungs.right, W, H, pred, 1);
        rasterizePolygon(result.lungs.left, W, H, pred, 2);
        if (polys?.right_lung?.length || polys?.left_lung?.length) {
          const gt = new Uint8Array(W * H);
          if (polys.right_lung) rasterizePolygon(polys.right_lung, W, H, gt, 1);
          if (polys.left_lung) rasterizePolygon(polys.left_lung, W, H, gt, 2);
          const raw = labelsToSource(labels, g);
          c.seg = {
            diceR: dice(pred, gt, 1), diceL: dice(pred, gt, 2), diceBoth: dice(pred, gt), iouR: maskIou(pred, gt, 1), iouL: maskIou(pred, gt, 2), iouBoth: maskIou(pred, gt),
            rawR: dice(raw, gt, 1), rawL: dice(raw, gt, 2),
          };
        } else if (row.mask) {
          const mk = (await decodeFile(path.join(row._dir, row.mask))).decoded;
          if (mk.columns === W && mk.rows === H) c.seg = { diceR: null, diceL: null, diceBoth: dice(pred, mk.pixels), iouR: null, iouL: null, iouBoth: maskIou(pred, mk.pixels), rawR: null, rawL: null };
        }
      }
      collected.push(c);
      const reading = typeof row.report === 'string' && row.report.trim() ? row.report : null;
      language.push({
        id: row.id, source: row._source, label: row.label, clinicalReading: reading, gtBoxes, gtLungs: polys ? { right: polys.right_lung, left: polys.left_lung } : null,
        modelReading: { tbScore: result.tbScore, threshold: result.threshold, boxes: result.boxes, lungs: result.lungs, model: result.model, image: result.image },
      });
    } catch (e) {
      failures.push({ id: row.id, source: row._source, file: row._path, error: toErrorInfo(e) });
    }
    opts.onProgress?.(++done, rows.length);
  }
  const thr = m.operating_point.tb_score_threshold;
  const sources: Record<string, EvaluationBlock> = {};
  for (const src of [...new Set(collected.map((c) => c.source))]) sources[src] = block(collected.filter((c) => c.source === src), thr, m.class_names, detClasses);
  const times = collected.map((c) => c.ms).sort((a, b) => a - b);
  const report: EvaluationReport = {
    model: { name: m.name, version: m.version, ep: analyzer.ep, sha256: m.model_sha256 },
    split, splitRule: rule, detScoreFloor: floor,
    manifests: paths.map((p) => path.resolve(p)),
    pooled: block(collected, thr, m.class_names, detClasses),
    pooledWithoutTbx11k: collected.some((c) => c.source === 'tbx11k') && collected.some((c) => c.source !== 'tbx11k')
      ? block(collected.filter((c) => c.source !== 'tbx11k'), thr, m.class_names, detClasses) : null,
    sources,
    failures,
    scope: scopeReport(scopeSeen),
    medianAnalysisMs: times.length ? times[Math.floor(times.length / 2)] : null,
    language: evaluateLanguage(language, m.det_decode.suggested_display_score),
  };
  if (opts.includeRows) report.rows = collected.map((c) => ({ id: c.id, source: c.source, label: c.label, tbScore: c.tbScore, predLabel: c.predLabel, nBoxes: c.dets?.length ?? 0 }));
  return report;
}
