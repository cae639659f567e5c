// Model packs as task modules (MONAILabel's InferTask shape): a folder with manifest.json + model.onnx that is
// checked before use (files present, checksum, ONNX loads, outputs as declared) and one ONNX Runtime session per
// analyzer. Every failure is an AppError: MODEL_MISSING (folder/file absent), MODEL_CORRUPT (manifest unreadable
// or invalid, checksum wrong, ONNX does not load), MODEL_MISMATCH (ONNX inputs/outputs differ from the manifest).
//
// Execution providers. The npm package bundles only the CPU provider (and WebGPU). A clinic PC with an NVIDIA GPU
// (Linux x64, CUDA 12 + cuDNN 9 installed) gets the CUDA provider by installing onnxruntime-node with its install
// script's flag: `npm install onnxruntime-node --onnxruntime-node-install=cuda12` (or the environment variable
// ONNXRUNTIME_NODE_INSTALL=cuda12; the older ONNXRUNTIME_NODE_INSTALL_CUDA=v12 / --onnxruntime-node-install-cuda
// still work but are deprecated) — see node_modules/onnxruntime-node/script/install.js and the package README
// ("CUDA EP Installation"). The script downloads the provider libraries next to onnxruntime_binding.node; an
// offline site runs it once on a connected machine and copies node_modules/onnxruntime-node/bin over. On Windows
// the DirectML provider is bundled. Whatever is asked, we fall back to the CPU and record why.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError } from '../errors';
import { ManifestSchema, manifestInconsistencies, type PackManifest } from './manifest';

export type ExecutionProvider = 'cpu' | 'cuda' | 'dml';
export type EpRequest = 'auto' | ExecutionProvider;

export interface ModelPackInfo {
  name: string;
  version: string;
  dir: string;
  modelFile: string;
  sha256: string;
  bytes: number;
  inputSize: number;
  classNames: string[];
  tbClassIndex: number;
  detClassNames: string[];
  lungClassNames: string[];
  tbScoreThreshold: number;
  /** length of the embedding output a site head reads, or null when the pack has none */
  embeddingDim: number | null;
  displayScore: number;
  createdUtc: string | null;
  intendedUse: string | null;
  modelCard: string | null;
  parityFixture: string | null;
}

export interface ModelPack {
  readonly dir: string;
  readonly manifest: PackManifest;
  info(): ModelPackInfo;
  /** Files still present and model.onnx still matching the manifest's sha256 (re-read from disk). */
  isValid(): boolean;
  /** The reason isValid() is false, or null. */
  check(): AppError | null;
}

export interface LoadOptions {
  /** intra-op threads for the CPU session (default: ONNX Runtime's choice) */
  threads?: number;
}

interface PackInternals extends ModelPack {
  readonly modelPath: string;
  readonly threads: number | undefined;
  /** the CPU session created while loading (used to check the outputs; reused by CPU analyzers) */
  cpuSession: ort.InferenceSession | null;
}

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function sessionOptions(ep: ExecutionProvider, threads: number | undefined): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: [ep] };
  if (threads) {
    o.intraOpNumThreads = threads;
    o.interOpNumThreads = 1;
  }
  return o;
}

function readManifest(dir: string): PackManifest {
  const label = path.basename(dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new AppError('MODEL_MISSING', `Model pack ${dir} not found: the folder does not exist. Install the model pack (models/packs/<name>/) or pass --model DIR.`);
  }
  const mp = path.join(dir, 'manifest.json');
  if (!fs.existsSync(mp)) throw new AppError('MODEL_MISSING', `Model pack ${label}: manifest.json is missing from ${dir}.`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(mp, 'utf8'));
  } catch (e) {
    throw new AppError('MODEL_CORRUPT', `Model pack ${label}: manifest.json is not valid JSON (${(e as Error).message}).`, { cause: e });
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AppError('MODEL_CORRUPT', `Model pack ${label}: manifest.json is not a valid model manifest (${issues}).`);
  }
  const bad = manifestInconsistencies(r.data);
  if (bad.length) throw new AppError('MODEL_CORRUPT', `Model pack ${label}: manifest.json contradicts itself (${bad.join('; ')}).`);
  return r.data;
}

function checkFiles(dir: string, m: PackManifest): { modelPath: string; bytes: Uint8Array } {
  const modelPath = path.join(dir, m.model_file);
  if (!fs.existsSync(modelPath)) throw new AppError('MODEL_MISSING', `Model pack ${m.name}: ${m.model_file} is missing from ${dir}.`);
  const bytes = fs.readFileSync(modelPath);
  if (bytes.length === 0) throw new AppError('MODEL_CORRUPT', `Model pack ${m.name}: ${m.model_file} is empty (0 bytes); copy the pack again.`);
  const got = sha256(bytes);
  if (got !== m.model_sha256.toLowerCase()) {
    throw new AppError('MODEL_CORRUPT',
      `Model pack ${m.name}: ${m.model_file} does not match the checksum in manifest.json (sha256 ${got.slice(0, 12)}…, expected ${m.model_sha256.slice(0, 12)}…; ${bytes.length} bytes${m.model_bytes ? `, expected ${m.model_bytes}` : ''}). The file is damaged or was replaced: copy the pack again.`);
  }
  return { modelPath, bytes };
}

function shapeText(s: ReadonlyArray<number | string>): string {
  return `[${s.join(', ')}]`;
}

/** Compare the session's input/output metadata with the manifest; returns the differences. */
function sessionMismatches(session: ort.InferenceSession, m: PackManifest): string[] {
  const out: string[] = [];
  if (!session.inputNames.includes(m.input.name)) out.push(`input ${m.input.name} not found (the model has ${session.inputNames.join(', ')})`);
  const meta = new Map<string, ReadonlyArray<number | string>>();
  for (const o of session.outputMetadata ?? []) if (o.isTensor) meta.set(o.name, o.shape);
  for (const i of session.inputMetadata ?? []) if (i.isTensor) meta.set(`input:${i.name}`, i.shape);
  const same = (declared: ReadonlyArray<number | string>, actual: ReadonlyArray<number | string> | undefined) =>
    !actual || actual.length === 0 || (actual.length === declared.length && declared.every((d, k) => typeof d === 'string' || typeof actual[k] === 'string' || actual[k] === d));
  const inShape = meta.get(`input:${m.input.name}`);
  if (!same(m.input.shape, inShape)) out.push(`input ${m.input.name} is ${shapeText(inShape!)} in the ONNX file, ${shapeText(m.input.shape)} in the manifest`);
  for (const o of m.outputs) {
    if (!session.outputNames.includes(o.name)) {
      out.push(`output ${o.name} is declared but the ONNX file has none (it has ${session.outputNames.join(', ')})`);
      continue;
    }
    const actual = meta.get(o.name);
    if (!same(o.shape, actual)) out.push(`output ${o.name} is ${shapeText(actual!)} in the ONNX file, ${shapeText(o.shape)} in the manifest`);
  }
  return out;
}

async function createSession(bytes: Uint8Array, ep: ExecutionProvider, threads: number | undefined): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, sessionOptions(ep, threads));
}

export interface PackVerification {
  name: string;
  version: string;
  /** sha256 of the model file, read from disk now (equal to the manifest's: a mismatch throws) */
  sha256: string;
  bytes: number;
  createdUtc: string | null;
  intendedUse: string | null;
  /** MODEL_CARD.md, when the pack has one */
  modelCard: string | null;
  /** the pack's operating threshold on the TB score (its default, before any site calibration) */
  tbScoreThreshold: number;
  embeddingDim: number | null;
}

/**
 * The installer's and the first-run screen's check: the manifest is valid and model.onnx matches its checksum,
 * without loading the model into ONNX Runtime. Throws the same MODEL_* errors as loadModelPack.
 */
export function verifyPackFiles(dir: string): PackVerification {
  const abs = path.resolve(dir);
  const m = readManifest(abs);
  const { bytes } = checkFiles(abs, m);
  const cardPath = path.join(abs, 'MODEL_CARD.md');
  return {
    name: m.name,
    version: m.version,
    sha256: m.model_sha256.toLowerCase(),
    bytes: bytes.length,
    createdUtc: m.created_utc ?? null,
    intendedUse: m.intended_use ?? null,
    modelCard: fs.existsSync(cardPath) ? cardPath : null,
    tbScoreThreshold: m.operating_point.tb_score_threshold,
    embeddingDim: m.embedding?.dim ?? null,
  };
}

/** Read and check a model pack folder. Never throws anything but an AppError with a MODEL_* code. */
export async function loadModelPack(dir: string, opts: LoadOptions = {}): Promise<ModelPack> {
  const abs = path.resolve(dir);
  const m = readManifest(abs);
  const { modelPath, bytes } = checkFiles(abs, m);
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes, 'cpu', opts.threads);
  } catch (e) {
    const detail = String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300);
    throw new AppError('MODEL_CORRUPT', `Model pack ${m.name}: ${m.model_file} could not be loaded by ONNX Runtime (${detail}). The file is not a usable ONNX model: copy the pack again.`, { cause: e });
  }
  const mism = sessionMismatches(session, m);
  if (mism.length) {
    await session.release().catch(() => undefined);
    throw new AppError('MODEL_MISMATCH', `Model pack ${m.name}: ${m.model_file} does not match manifest.json (${mism.join('; ')}).`);
  }
  const cardPath = path.join(abs, 'MODEL_CARD.md');
  const parityPath = m.parity_fixture ? path.join(abs, m.parity_fixture) : path.join(abs, 'parity', 'index.json');
  const info: ModelPackInfo = {
    name: m.name,
    version: m.version,
    dir: abs,
    modelFile: modelPath,
    sha256: m.model_sha256.toLowerCase(),
    bytes: bytes.length,
    inputSize: m.input_size,
    classNames: m.class_names,
    tbClassIndex: m.tb_class_index,
    detClassNames: m.det_class_names,
    lungClassNames: m.lung_class_names,
    tbScoreThreshold: m.operating_point.tb_score_threshold,
    embeddingDim: m.embedding?.dim ?? null,
    displayScore: m.det_decode.suggested_display_score,
    createdUtc: m.created_utc ?? null,
    intendedUse: m.intended_use ?? null,
    modelCard: fs.existsSync(cardPath) ? cardPath : null,
    parityFixture: fs.existsSync(parityPath) ? parityPath : null,
  };
  const pack: PackInternals = {
    dir: abs,
    manifest: m,
    modelPath,
    threads: opts.threads,
    cpuSession: session,
    info: () => ({ ...info }),
    check() {
      try {
        checkFiles(abs, readManifest(abs));
        return null;
      } catch (e) {
        return e instanceof AppError ? e : new AppError('MODEL_CORRUPT', String(e));
      }
    },
    isValid() {
      return pack.check() === null;
    },
  };
  return pack;
}

export interface Analyzer {
  readonly pack: ModelPack;
  /** the provider that runs the model */
  readonly ep: ExecutionProvider;
  readonly epRequested: EpRequest;
  /** why the requested provider is not the one running (null when it is) */
  readonly epFallbackReason: string | null;
  /** Run the network on one preprocessed [1,1,S,S] input; outputs by name (float32, batch dimension dropped). */
  run(input: Float32Array): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  release(): Promise<void>;
}

export interface AnalyzerOptions {
  ep?: EpRequest;
  /** intra-op threads for a new session (default: the pack's) */
  threads?: number;
}

function preferredGpu(platform: NodeJS.Platform): ExecutionProvider | null {
  if (platform === 'linux') return 'cuda';
  if (platform === 'win32') return 'dml';
  return null;
}

/** Why the CUDA provider cannot load, checked without asking ONNX Runtime (which prints a native error), or null. */
function cudaMissing(): string | null {
  try {
    const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const dir = path.join(pkg, 'bin', 'napi-v6', 'linux', process.arch);
    const lib = path.join(dir, 'libonnxruntime_providers_cuda.so');
    return fs.existsSync(lib) ? null : `the CUDA provider libraries are not installed with this station (IT: see “GPU acceleration” in the installation guide)`;
  } catch {
    return null;
  }
}

/** Create the ONNX Runtime session for a pack once; later calls to run() reuse it. */
export async function createAnalyzer(pack: ModelPack, opts: AnalyzerOptions = {}): Promise<Analyzer> {
  const p = pack as PackInternals;
  const requested: EpRequest = opts.ep ?? 'auto';
  const threads = opts.threads ?? p.threads;
  let want: ExecutionProvider | null = requested === 'auto' ? preferredGpu(process.platform) : requested;
  let reason: string | null = null;
  if (requested === 'auto' && want === null) reason = `no GPU provider for ${process.platform}`;
  if (want === 'cuda' && process.platform !== 'linux') {
    reason = `the CUDA provider is only set up for Linux here (platform ${process.platform})`;
    want = null;
  }
  if (want === 'dml' && process.platform !== 'win32') {
    reason = `DirectML is Windows-only (platform ${process.platform})`;
    want = null;
  }
  let session: ort.InferenceSession | null = null;
  let ep: ExecutionProvider = 'cpu';
  if (want === 'cuda') {
    const missing = cudaMissing();
    if (missing) {
      reason = missing;
      want = null;
    }
  }
  if (want && want !== 'cpu') {
    try {
      session = await createSession(fs.readFileSync(p.modelPath), want, threads);
      ep = want;
    } catch (e) {
      const msg = String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300);
      reason = want === 'cuda'
        ? `CUDA provider unavailable (${msg}); IT: see “GPU acceleration” in the installation guide`
        : `${want} provider unavailable (${msg})`;
    }
  }
  if (!session) {
    if (p.cpuSession && (opts.threads === undefined || opts.threads === p.threads)) {
      session = p.cpuSession;
      p.cpuSession = null; // handed over: one session per analyzer
    } else {
      try {
        session = await createSession(fs.readFileSync(p.modelPath), 'cpu', threads);
      } catch (e) {
        throw new AppError('MODEL_CORRUPT', `Model pack ${p.manifest.name}: the CPU session could not be created (${(e as Error).message}).`, { cause: e });
      }
    }
    ep = 'cpu';
  }
  const s = session;
  const inputName = p.manifest.input.name;
  const S = p.manifest.input_size;
  const outputNames = p.manifest.outputs.map((o) => o.name);
  return {
    pack,
    ep,
    epRequested: requested,
    epFallbackReason: requested === 'cpu' ? null : reason,
    async run(input) {
      if (input.length !== S * S) throw new AppError('INFERENCE_FAILED', `The model input must hold ${S}×${S} values, got ${input.length}.`);
      let res: ort.InferenceSession.OnnxValueMapType;
      try {
        res = await s.run({ [inputName]: new ort.Tensor('float32', input, [1, 1, S, S]) }, outputNames);
      } catch (e) {
        throw new AppError('INFERENCE_FAILED', `ONNX Runtime (${ep}) failed to run ${p.manifest.name}: ${(e as Error).message}`, { cause: e });
      }
      const out: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (const n of outputNames) {
        const t = res[n] as ort.Tensor | undefined;
        if (!t || t.type !== 'float32') throw new AppError('INFERENCE_FAILED', `${p.manifest.name} returned no float32 output ${n}.`);
        out[n] = { data: t.data as Float32Array, dims: t.dims.slice(1) as number[] };
      }
      return out;
    },
    async release() {
      await s.release();
    },
  };
}
