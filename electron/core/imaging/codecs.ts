// The compressed-pixel decoders: dcmjs-codecs' WebAssembly build of libjpeg-turbo (baseline, extended, lossless),
// CharLS (JPEG-LS), OpenJPEG (JPEG 2000), OpenJPH (HTJ2K) and its RLE decoder. The module is loaded once, lazily,
// on the first compressed image; its .wasm file is found next to the package's main script (resolved through
// node's module resolution, so it also works from a bundle that keeps packages external, as our esbuild build
// does) unless `configureImaging({ wasmPath })` names it explicitly (e.g. app.asar.unpacked in a packaged app).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as DcmjsCodecs from 'dcmjs-codecs';

const require = createRequire(import.meta.url);

export interface ImagingConfig {
  /** absolute path of dcmjs-native-codecs.wasm; default: found inside node_modules/dcmjs-codecs/build */
  wasmPath?: string;
}

let configuredWasmPath: string | undefined;
let codecsModule: typeof DcmjsCodecs | undefined;
let initPromise: Promise<typeof DcmjsCodecs> | undefined;

/** Set where the codecs' WebAssembly file is. Call before the first decode; a later call applies to the next load. */
export function configureImaging(config: ImagingConfig): void {
  if (config.wasmPath !== undefined && config.wasmPath !== configuredWasmPath) {
    configuredWasmPath = config.wasmPath;
    // Not yet loaded (or failed): the next use loads from the new path. Already loaded: keep the working module.
    if (!codecsModule) initPromise = undefined;
  }
}

/** The path the codecs' .wasm file is loaded from (explicit, else resolved from the installed package). */
export function resolveWasmPath(): string {
  if (configuredWasmPath) return configuredWasmPath;
  const main = require.resolve('dcmjs-codecs');
  return path.join(path.dirname(main), 'dcmjs-native-codecs.wasm');
}

/** Load and initialise the native codecs once; later calls share the same promise. */
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

/**
 * Decode one compressed frame to interleaved little-endian samples (1 byte per sample for 8-bit data, 2 for
 * 9-16 bit). Throws whatever the codec throws; the caller wraps it.
 */
export async function decodeFrame(kind: CodecKind, encoded: Uint8Array, spec: FrameSpec): Promise<Uint8Array> {
  let mod = await loadCodecs();
  // A failed decode elsewhere may have released the instance since our load resolved: load a fresh one.
  while (!mod.NativeCodecs.isInitialized()) mod = await loadCodecs();
  const { NativeCodecs, Context } = mod;
  const ctx = new Context({
    width: spec.columns,
    height: spec.rows,
    bitsAllocated: spec.bitsAllocated,
    bitsStored: spec.bitsStored,
    samplesPerPixel: 1,
    pixelRepresentation: spec.pixelRepresentation,
    planarConfiguration: 0,
    photometricInterpretation: spec.photometric,
    encodedBuffer: encoded,
  });
  let out: DcmjsCodecs.Context;
  try {
    switch (kind) {
      case 'jpeg':
        out = NativeCodecs.decodeJpeg(ctx, { convertColorspaceToRgb: false });
        break;
      case 'jpegls':
        out = NativeCodecs.decodeJpegLs(ctx);
        break;
      case 'jpeg2000':
        out = NativeCodecs.decodeJpeg2000(ctx);
        break;
      case 'htj2k':
        out = NativeCodecs.decodeHtJpeg2000(ctx);
        break;
      case 'rle':
        out = NativeCodecs.decodeRle(ctx);
        break;
    }
  } catch (e) {
    // The codecs report errors by throwing through the WebAssembly stack, which leaves its stack pointer and
    // heap as they were at the throw: after a few thousand failures the instance corrupts memory. Throw the
    // instance away after any failure; the next decode starts a fresh one (about 40 ms).
    resetCodecs();
    throw e;
  }
  const decoded = out.getDecodedBuffer();
  if (!decoded) throw new Error('the codec returned no pixels');
  return decoded;
}

/** Drop the current codec instance (if any); the next decode initialises a new one. */
export function resetCodecs(): void {
  try {
    codecsModule?.NativeCodecs.release();
  } catch {
    /* nothing to release */
  }
  codecsModule = undefined;
  initPromise = undefined;
}
