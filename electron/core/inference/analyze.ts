// One image through a pack: pre-process, run, post-process, with per-stage timings (MONAILabel's pre/run/post).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors';
import { decodeImage } from '../imaging/index';
import type { DecodedImage } from '../imaging/types';
import type { Analyzer, ExecutionProvider } from './pack';
import { preprocessImage, type Letterbox } from './preprocess';
import { measureLungFields, outOfScopeMessage, scopeVerdict, type ScopeVerdict } from './scope';
import {
  assignZones, boxToSource, decodeCenterNet, evidenceGrid, lungLabelMap, lungMasks, lungPolygon, nmsByClass, softmax,
  type Box, type EvidenceGrid, type LungMasks, type LungZone, type Point, type Probability,
} from './postprocess';

export interface AnalysisResult {
  /** 100 · p(TB) */
  tbScore: number;
  /** the pack's operating point: tbScore ≥ threshold flags the image */
  threshold: number;
  probabilities: Probability[];
  /** the TB class name when tbScore ≥ threshold, else the more probable of the other classes */
  label: string;
  boxes: Box[];
  /**
   * When no box reaches the display score: the model's strongest regions below it (at most CANDIDATE_COUNT, one per region, scoring at
   * least CANDIDATE_FLOOR), for a reader to look at as low-confidence evidence. Never findings. Empty otherwise.
   */
  candidates: Box[];
  /** the least score of a box in `boxes` (the pack's display score, unless the caller chose another) */
  displayScore: number;
  lungs: { right: Point[]; left: Point[] };
  zones: LungZone[];
  evidence: EvidenceGrid;
  timingsMs: { decode: number; preprocess: number; inference: number; postprocess: number; total: number };
  model: { name: string; version: string; ep: ExecutionProvider };
  image: { width: number; height: number };
}

/** Post-processing output that evaluation also needs (letterbox-space lung masks). */
export interface AnalysisDetail {
  result: AnalysisResult;
  geometry: Letterbox;
  masks: LungMasks;
  /** the raw lung argmax (letterbox S×S, lung_class_names indices) before keeping the largest components */
  labels: Uint8Array;
  /** softmax over class_names */
  probs: number[];
  /** whether the image may be scored at all (two plausible lung fields; see ./scope), with the measures */
  scope: ScopeVerdict;
  /**
   * The pack's embedding of the image (the lung-pooled features a site head reads; manifest.embedding), or null
   * when the pack has none. A copy, not a view of ONNX Runtime's buffer.
   */
  embedding: Float32Array | null;
  /** ln(p / (1 − p)) of the TB probability, from the logits (exact where p rounds to 0 or 1) */
  baseLogit: number;
}

const ms = (a: number, b: number) => Math.round((b - a) * 100) / 100;

/** How many low-confidence regions a reading without a shown box offers, and the least peak score one must have. */
export const CANDIDATE_COUNT = 3;
export const CANDIDATE_FLOOR = 0.02;

export interface AnalyzeOptions {
  /** lowest box score returned (default: the pack's det_decode.suggested_display_score) */
  minBoxScore?: number;
  /**
   * 'enforce' (default): an image out of scope (no two plausible lung fields) is refused with OUT_OF_SCOPE and gets
   * no score. 'report': the reading is returned with the verdict beside it, for evaluating the rule itself.
   */
  scope?: 'enforce' | 'report';
}

export async function analyzeDetailed(analyzer: Analyzer, decoded: DecodedImage, decodeMs = 0, opts: AnalyzeOptions = {}): Promise<AnalysisDetail> {
  const m = analyzer.pack.manifest;
  if (!decoded || !decoded.pixels || decoded.pixels.length !== decoded.rows * decoded.columns || decoded.rows < 1 || decoded.columns < 1) {
    throw new AppError('INFERENCE_FAILED', 'The image has no pixel data the model can read.');
  }
  const t0 = performance.now();
  const { input, geometry: g } = preprocessImage(decoded, m.input_size);
  const t1 = performance.now();
  const out = await analyzer.run(input);
  const t2 = performance.now();

  const probs = softmax(out.cls_logits.data);
  const tbScore = 100 * probs[m.tb_class_index];
  const baseLogit = tbLogit(out.cls_logits.data, m.tb_class_index);
  const embedding = m.embedding && out[m.embedding.name] ? Float32Array.from(out[m.embedding.name].data) : null;
  const threshold = m.operating_point.tb_score_threshold;
  let label = m.class_names[m.tb_class_index];
  if (tbScore < threshold) {
    let bi = -1;
    for (let i = 0; i < probs.length; i++) if (i !== m.tb_class_index && (bi < 0 || probs[i] > probs[bi])) bi = i;
    label = m.class_names[bi];
  }
  const [C, R] = out.det_heatmap.dims;
  // One decode down to the candidates' floor: the boxes at or above the display score are the same as a decode at
  // the display score would give (non-maximum suppression keeps the higher-scoring box of any pair).
  const minBox = opts.minBoxScore ?? m.det_decode.suggested_display_score;
  const lb = decodeCenterNet(out.det_heatmap.data, C, R, out.det_size.data, out.det_offset.data, m.det_stride,
    m.det_decode.top_k, Math.min(minBox, CANDIDATE_FLOOR));
  const peaks = nmsByClass(lb, 0.5)
    .map((b) => boxToSource(g, b, m.det_class_names[b.cls]))
    .filter((b) => b.w > 0 && b.h > 0);
  const boxes = peaks.filter((b) => b.score >= minBox);
  const candidates = boxes.length ? [] : distinctRegions(peaks, CANDIDATE_COUNT);
  const [nL, L] = out.lung_logits.dims;
  const labels = lungLabelMap(out.lung_logits.data, nL, L, g);
  const ri = m.lung_class_names.indexOf('right_lung');
  const li = m.lung_class_names.indexOf('left_lung');
  const masks = lungMasks(labels, g.size, ri < 0 ? 1 : ri, li < 0 ? 2 : li);
  const scope = scopeVerdict(decoded, measureLungFields(input, out.lung_logits.data, nL, L, masks, g, ri < 0 ? 1 : ri, li < 0 ? 2 : li));
  if (!scope.inScope && (opts.scope ?? 'enforce') === 'enforce') throw new AppError('OUT_OF_SCOPE', outOfScopeMessage(scope.reasons));
  const lungs = { right: lungPolygon(masks.right, g), left: lungPolygon(masks.left, g) };
  const zones = assignZones(boxes, masks, g);
  const evName = m.evidence?.name ?? 'evidence';
  let evidence: EvidenceGrid;
  if (out[evName]) {
    evidence = evidenceGrid(out[evName].data, out[evName].dims[1], m.evidence?.stride ?? m.det_stride, g);
  } else {
    const RR = R * R;
    const ev = new Float32Array(RR);
    for (let c = 0; c < C; c++) for (let i = 0; i < RR; i++) ev[i] = Math.max(ev[i], out.det_heatmap.data[c * RR + i]);
    evidence = evidenceGrid(ev, R, m.det_stride, g);
  }
  const t3 = performance.now();
  const timingsMs = { decode: Math.round(decodeMs * 100) / 100, preprocess: ms(t0, t1), inference: ms(t1, t2), postprocess: ms(t2, t3), total: 0 };
  timingsMs.total = Math.round((timingsMs.decode + ms(t0, t3)) * 100) / 100;
  const result: AnalysisResult = {
    tbScore: Math.round(tbScore * 1e4) / 1e4,
    threshold,
    probabilities: probs.map((p, i) => ({ name: m.class_names[i], p: Math.round(p * 1e6) / 1e6 })),
    label,
    boxes: boxes.map(roundBox),
    candidates: candidates.map(roundBox),
    displayScore: minBox,
    lungs,
    zones,
    evidence,
    timingsMs,
    model: { name: m.name, version: m.version, ep: analyzer.ep },
    image: { width: decoded.columns, height: decoded.rows },
  };
  return { result, geometry: g, masks, labels, probs, scope, embedding, baseLogit };
}

/** ln(p / (1 − p)) for p = softmax(logits)[k]: logits[k] − log Σ_{j≠k} e^{logits[j]}, computed stably. */
export function tbLogit(logits: ArrayLike<number>, k: number): number {
  let mx = -Infinity;
  for (let j = 0; j < logits.length; j++) if (j !== k) mx = Math.max(mx, logits[j]);
  let s = 0;
  for (let j = 0; j < logits.length; j++) if (j !== k) s += Math.exp(logits[j] - mx);
  return logits[k] - (mx + Math.log(s));
}

function r2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The first `n` boxes (by score) that do not overlap a higher one at IoU > 0.5 whatever its class: one region, one outline. */
function distinctRegions(sorted: Box[], n: number): Box[] {
  const iou = (a: Box, b: Box) => {
    const iw = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const ih = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (iw <= 0 || ih <= 0) return 0;
    return (iw * ih) / (a.w * a.h + b.w * b.h - iw * ih);
  };
  const kept: Box[] = [];
  for (const b of sorted) {
    if (kept.length === n) break;
    if (!kept.some((k) => iou(k, b) > 0.5)) kept.push(b);
  }
  return kept;
}

function roundBox(b: Box): Box {
  return { ...b, x: r2(b.x), y: r2(b.y), w: r2(b.w), h: r2(b.h), score: Math.round(b.score * 1e4) / 1e4 };
}

/** Analyze a decoded image (timings.decode = 0). */
export async function analyzeImage(analyzer: Analyzer, decoded: DecodedImage): Promise<AnalysisResult> {
  return (await analyzeDetailed(analyzer, decoded)).result;
}

export async function decodeFile(file: string): Promise<{ decoded: DecodedImage; ms: number }> {
  const t0 = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AppError(code === 'ENOENT' ? 'NOT_FOUND' : 'FILE_UNREADABLE', `${path.basename(file)} could not be read (${code ?? (e as Error).message}).`, { cause: e });
  }
  const decoded = await decodeImage(bytes, file);
  return { decoded, ms: performance.now() - t0 };
}

/** Read, decode and analyze one file. */
export async function analyzeFile(analyzer: Analyzer, file: string): Promise<AnalysisResult> {
  const { decoded, ms: d } = await decodeFile(file);
  return (await analyzeDetailed(analyzer, decoded, d)).result;
}
