// Test helpers: a tiny random-weight pack exported by the training code (fixtures/make_tiny_pack.py), built once
// per script version into the temp folder, and readers for the parity fixture's raw arrays.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, 'fixtures', 'make_tiny_pack.py');
const PYTHON = '/usr/bin/python3';

let cached: { dir: string | null; reason: string } | null = null;

/** The tiny pack's folder, or null with the reason (no python3/torch/onnx here). */
export function tinyPack(): { dir: string | null; reason: string } {
  if (cached) return cached;
  const src = fs.readFileSync(SCRIPT);
  const key = crypto.createHash('sha256').update(src).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `cxr-tiny-pack-${key}`);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return (cached = { dir, reason: '' });
  if (!fs.existsSync(PYTHON)) return (cached = { dir: null, reason: `missing tool: ${PYTHON} with torch, onnx and numpy (Debian packages python3-torch python3-onnx python3-numpy; scripts/install-system-packages.sh installs them)` });
  const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return (cached = { dir: null, reason: `missing tool: python3's torch, onnx or numpy (${probe.stderr.trim().split('\n').pop()}; Debian packages python3-torch python3-onnx python3-numpy; scripts/install-system-packages.sh installs them)` });
  const tmp = `${dir}.tmp-${process.pid}`;
  const r = spawnSync(PYTHON, [SCRIPT, tmp, '256'], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) return (cached = { dir: null, reason: `make_tiny_pack.py failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return (cached = { dir, reason: '' });
}

/** A writable copy of a pack folder (for damaging it). */
export function copyPack(dir: string): string {
  const to = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-pack-copy-'));
  fs.cpSync(dir, to, { recursive: true });
  return to;
}

export interface ParityArray {
  file: string;
  dtype: string;
  shape: number[];
}

export interface ParitySample {
  id: string;
  raw: ParityArray;
  letterbox: { new_w: number; new_h: number; pad_x: number; pad_y: number };
  input: ParityArray;
  outputs: Record<string, ParityArray>;
}

export interface ParityIndex {
  input_size: number;
  model_sha256: string | null;
  tolerance: { input_abs: number; outputs_abs: number; outputs_rel: number };
  samples: ParitySample[];
}

export function readParityIndex(indexPath: string): ParityIndex {
  return JSON.parse(fs.readFileSync(indexPath, 'utf8')) as ParityIndex;
}

export function readArray(dir: string, a: ParityArray): Uint8Array | Uint16Array | Float32Array {
  const buf = fs.readFileSync(path.join(dir, a.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (a.dtype === 'uint8') return new Uint8Array(ab);
  if (a.dtype === 'uint16') return new Uint16Array(ab);
  if (a.dtype === 'float32') return new Float32Array(ab);
  throw new Error(`unexpected dtype ${a.dtype}`);
}
