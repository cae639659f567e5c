// The compressed-pixel decoders: dcmjs-codecs' WebAssembly build of libjpeg-turbo (baseline, extended, lossless),
// CharLS (JPEG-LS), OpenJPEG (JPEG 2000), OpenJPH (HTJ2K) and its RLE decoder. The module is loaded once, lazily,
// on the first compressed image; its .wasm file is found next to the package's main script (resolved through
// node's module resolution, so it also works from a bundle that keeps packages external, as our esbuild build
// does) unless `configureImaging({ wasmPath })` names it explicitly (e.g. app.asar.unpacked in a packaged app).
//
// Decoding runs in a decode lane (./lane: one worker thread, one frame at a time, started on first use, unref'd when
// idle): a malformed codestream can make a codec loop for minutes (seen with OpenJPH on fuzzed HTJ2K), and
// WebAssembly cannot be interrupted, so a decode that passes the time limit ends the thread and fails with
// DICOM_DECODE_FAILED; the next decode starts a new one. It also keeps the Electron main thread responsive.
// Before a frame gets here, dicom.ts has checked the size its codestream declares (./codestream).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as DcmjsCodecs from 'dcmjs-codecs';
import { DecodeLane } from './lane';

const require = createRequire(import.meta.url);

export interface ImagingConfig {
  /** absolute path of dcmjs-native-codecs.wasm; default: found inside node_modules/dcmjs-codecs/build */
  wasmPath?: string;
  /** longest one file's decoding (a compressed frame, a PNG, a JPEG) may take before it is stopped (default 10 s) */
  decodeTimeoutMs?: number;
}

/** Longest one file's decoding may take before it is stopped, unless configured otherwise. */
export const DEFAULT_DECODE_TIMEOUT_MS = 10_000;

let decodeTimeoutMs = DEFAULT_DECODE_TIMEOUT_MS;

let configuredWasmPath: string | undefined;
let codecsModule: typeof DcmjsCodecs | undefined;
let initPromise: Promise<typeof DcmjsCodecs> | undefined;

/** Set where the codecs' WebAssembly file is. Call before the first decode; a later call applies to the next load. */
export function configureImaging(config: ImagingConfig): void {
  if (config.decodeTimeoutMs !== undefined && config.decodeTimeoutMs > 0) decodeTimeoutMs = config.decodeTimeoutMs;
  if (config.wasmPath !== undefined && config.wasmPath !== configuredWasmPath) {
    configuredWasmPath = config.wasmPath;
    // Not yet loaded (or failed): the next use loads from the new path. Already loaded: keep the working module.
    if (!codecsModule) initPromise = undefined;
    stopWorker(); // the worker loads the wasm from the path it was started with
  }
}

/** The path the codecs' .wasm file is loaded from (explicit, else resolved from the installed package). */
export function resolveWasmPath(): string {
  if (configuredWasmPath) return configuredWasmPath;
  const main = require.resolve('dcmjs-codecs');
  return path.join(path.dirname(main), 'dcmjs-native-codecs.wasm');
}

/**
 * The codecs in this thread (for encoding in tests and tools; decoding uses the worker). Loaded once; later calls
 * share the same promise.
 */
export function loadCodecs(): Promise<typeof DcmjsCodecs> {
  if (!initPromise) {
    initPromise = (async () => {
      const wasmPath = resolveWasmPath();
      if (!fs.existsSync(wasmPath)) {
        throw new Error(`the image codecs' WebAssembly file is missing: ${wasmPath}`);
      }
      const mod = require('dcmjs-codecs') as typeof DcmjsCodecs;
      // The package logs through loglevel; keep codec chatter out of the app's output.
      try {
        mod.log.setLevel('error');
      } catch {
        /* logging is optional */
      }
      if (!mod.NativeCodecs.isInitialized()) {
        await mod.NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: wasmPath });
      }
      codecsModule = mod;
      return mod;
    })();
    initPromise.catch(() => {
      initPromise = undefined; // let a later call retry (e.g. after configureImaging fixed the path)
    });
  }
  return initPromise;
}

export type CodecKind = 'jpeg' | 'jpegls' | 'jpeg2000' | 'htj2k' | 'rle';

export interface FrameSpec {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  photometric: string;
}

const DECODERS: Record<CodecKind, string> = {
  jpeg: 'decodeJpeg',
  jpegls: 'decodeJpegLs',
  jpeg2000: 'decodeJpeg2000',
  htj2k: 'decodeHtJpeg2000',
  rle: 'decodeRle',
};

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const codecs = require(workerData.modulePath);
try { codecs.log.setLevel('silent'); } catch {}
const { NativeCodecs, Context } = codecs;
let ready = null;
const init = () => (ready = NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: workerData.wasmPath }));
init();
parentPort.on('message', async (m) => {
  try {
    await ready;
    const ctx = new Context(Object.assign({}, m.spec, { encodedBuffer: m.encoded }));
    const params = m.fn === 'decodeJpeg' ? { convertColorspaceToRgb: false } : {};
    const out = NativeCodecs[m.fn](ctx, params).getDecodedBuffer();
    if (!out) throw new Error('the codec returned no pixels');
    const copy = out.slice();
    parentPort.postMessage({ id: m.id, decoded: copy }, [copy.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
    // A codec error unwinds through the WebAssembly stack and leaves its stack pointer and heap behind:
    // after a few thousand failures the instance corrupts memory. Start a clean instance after any failure.
    try { NativeCodecs.release(); } catch {}
    init();
  }
});
`;

/** The codec thread's JavaScript heap: the codecs' memory is WebAssembly's, bounded by the frame size checks. */
const CODEC_HEAP_MB = 96;

const lane = new DecodeLane({
  source: WORKER_SOURCE,
  workerData: () => {
    const wasmPath = resolveWasmPath();
    // A worker that cannot start throws here, which rejects the decode with that error.
    if (!fs.existsSync(wasmPath)) throw new Error(`the image codecs' WebAssembly file is missing: ${wasmPath}`);
    return { modulePath: require.resolve('dcmjs-codecs'), wasmPath };
  },
  resourceLimits: { maxOldGenerationSizeMb: CODEC_HEAP_MB },
});

/** Stop the codec worker (a later decode starts a new one). */
export function stopWorker(): void {
  lane.stop();
}

/** The per-file time limit for decoding, in milliseconds (configureImaging). */
export function decodeTimeLimitMs(): number {
  return decodeTimeoutMs;
}

/** Compressed frames handed to the codec thread since the start (each refused before decoding is not one). */
export function codecJobs(): number {
  return lane.jobs;
}

/**
 * Decode one compressed frame to interleaved little-endian samples (1 byte per sample for 8-bit data, 2 for
 * 9-16 bit), in the codec worker. Rejects with the codec's message, or after the time limit.
 */
export async function decodeFrame(kind: CodecKind, encoded: Uint8Array, spec: FrameSpec): Promise<Uint8Array> {
  const copy = encoded.slice(); // its own buffer, transferred
  const reply = await lane.run(
    {
      fn: DECODERS[kind],
      encoded: copy,
      spec: {
        width: spec.columns,
        height: spec.rows,
        bitsAllocated: spec.bitsAllocated,
        bitsStored: spec.bitsStored,
        samplesPerPixel: 1,
        pixelRepresentation: spec.pixelRepresentation,
        planarConfiguration: 0,
        photometricInterpretation: spec.photometric,
      },
    },
    [copy.buffer],
    decodeTimeoutMs,
  );
  return reply.decoded as Uint8Array;
}
