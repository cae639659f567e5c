// The model loader against bad model files, completing pack.test.ts: the ONNX file cut at many offsets, random
// bytes of several sizes, single-byte damage in its header, a valid ONNX model of another shape, and a manifest that
// declares outputs the model does not have. Each must be refused with MODEL_CORRUPT or MODEL_MISMATCH and a reason,
// never crash the process or load a model that does not match. (The checksum is recomputed each time, so these
// reach ONNX Runtime rather than stopping at the checksum check, which pack.test.ts covers.)
// Run: node --import tsx --test electron/core/inference/loader-faults.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { loadModelPack } from './index';
import { tinyPack, copyPack } from './testPack';

const fx = tinyPack();
const skip = fx.dir ? false : `tiny pack unavailable: ${fx.reason}`;

function useModel(dir: string, bytes: Uint8Array): void {
  fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
  const mp = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(mp, 'utf8'));
  m.model_sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  fs.writeFileSync(mp, JSON.stringify(m));
}

async function refusal(dir: string): Promise<AppError | null> {
  try {
    await loadModelPack(dir, { threads: 1 });
    return null;
  } catch (e) {
    assert.ok(e instanceof AppError, `a raw exception escaped the loader: ${(e as Error)?.stack ?? e}`);
    assert.ok(e.message.length > 20, 'the refusal says why');
    return e;
  }
}

// ---- a minimal ONNX (protobuf) writer, enough for a valid model of any input shape ----------------------------
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (no: number, wire: 0 | 2, payload: number | number[]) => (wire === 0 ? [...varint((no << 3) | 0), ...varint(payload as number)] : [...varint((no << 3) | 2), ...varint((payload as number[]).length), ...(payload as number[])]);
const str = (no: number, s: string) => field(no, 2, [...Buffer.from(s)]);
function valueInfo(name: string, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => field(1, 2, typeof d === 'number' ? field(1, 0, d) : str(2, d)));
  const tensor = [...field(1, 0, 1 /* FLOAT */), ...field(2, 2, shape)];
  return [...str(1, name), ...field(2, 2, field(1, 2, tensor))];
}
/** A valid ONNX model: `input` of `dims`, and each of `outputs` an Identity of it. */
export function identityOnnx(input: string, dims: (number | string)[], outputs: string[]): Uint8Array {
  const nodes = outputs.flatMap((o, i) => field(1, 2, [...str(1, input), ...str(2, o), ...str(3, `id${i}`), ...str(4, 'Identity')]));
  const graph = [...nodes, ...str(2, 'other-model'), ...field(11, 2, valueInfo(input, dims)), ...outputs.flatMap((o) => field(12, 2, valueInfo(o, dims)))];
  return new Uint8Array([...field(1, 0, 8 /* ir_version */), ...str(2, 'cxr-tests'), ...field(7, 2, graph), ...field(8, 2, [...str(1, ''), ...field(2, 0, 13)])]);
}

test('an ONNX file cut at any of many offsets is refused as MODEL_CORRUPT', { skip }, async () => {
  const d = copyPack(fx.dir!);
  const onnx = new Uint8Array(fs.readFileSync(path.join(d, 'model.onnx')));
  const offsets = [1, 2, 8, 16, 64, 256, 1024, 4096, Math.floor(onnx.length * 0.1), Math.floor(onnx.length * 0.5), Math.floor(onnx.length * 0.9), onnx.length - 16, onnx.length - 1];
  for (const at of offsets) {
    useModel(d, onnx.subarray(0, at));
    const e = await refusal(d);
    assert.ok(e, `a model cut at ${at} of ${onnx.length} bytes was loaded`);
    assert.ok(['MODEL_CORRUPT', 'MODEL_MISMATCH'].includes(e!.code), `cut at ${at}: ${e!.code}`);
  }
  useModel(d, new Uint8Array(0));
  assert.match((await refusal(d))!.message, /is empty/);
});

test('random bytes of several sizes are refused as MODEL_CORRUPT', { skip }, async () => {
  const d = copyPack(fx.dir!);
  for (const size of [1, 7, 100, 4096, 50_000, 1_000_000]) {
    useModel(d, crypto.randomBytes(size));
    assert.equal((await refusal(d))?.code, 'MODEL_CORRUPT', `${size} random bytes`);
  }
});

test('single-byte damage in the model header never crashes the loader', { skip }, async () => {
  const d = copyPack(fx.dir!);
  const onnx = new Uint8Array(fs.readFileSync(path.join(d, 'model.onnx')));
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let refused = 0;
  for (let k = 0; k < 40; k++) {
    const b = onnx.slice();
    b[Math.floor(rand() * Math.min(b.length, 4096))] = Math.floor(rand() * 256);
    useModel(d, b);
    // a byte inside a weight may still give a loadable model of the right shape; anything else is a refusal
    if (await refusal(d)) refused++;
  }
  assert.ok(refused > 0, 'header damage was never noticed');
});

test('a valid ONNX model of another shape is refused as MODEL_MISMATCH, naming the difference', { skip }, async () => {
  const d = copyPack(fx.dir!);
  const m = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
  const outputs = (m.outputs as { name: string }[]).map((o) => o.name);
  // same input and output names, but a 3-channel 224 x 224 input and outputs of that shape
  useModel(d, identityOnnx(m.input.name, ['N', 3, 224, 224], outputs));
  const e = await refusal(d);
  assert.equal(e?.code, 'MODEL_MISMATCH');
  assert.match(e!.message, /224/);
  // a model with other names altogether
  useModel(d, identityOnnx('pixel_values', [1, 3, 224, 224], ['logits']));
  const e2 = await refusal(d);
  assert.equal(e2?.code, 'MODEL_MISMATCH');
  assert.match(e2!.message, /input image not found|pixel_values/);
});

test('a manifest that declares another output shape than the model has is refused as MODEL_MISMATCH', { skip }, async () => {
  const d = copyPack(fx.dir!);
  const mp = path.join(d, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(mp, 'utf8'));
  const cls = m.outputs.find((o: { name: string }) => o.name === 'cls_logits');
  cls.shape = [cls.shape[0], cls.shape[1] + 2];
  fs.writeFileSync(mp, JSON.stringify(m));
  const e = await refusal(d);
  assert.ok(e && ['MODEL_MISMATCH', 'MODEL_CORRUPT'].includes(e.code), `got ${e?.code}`);
  assert.match(e!.message, /cls_logits/);
});

test('a manifest whose embedding contradicts its declared outputs is refused as MODEL_CORRUPT, naming it', { skip }, async () => {
  const d = copyPack(fx.dir!);
  const mp = path.join(d, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(mp, 'utf8'));
  assert.ok(m.embedding, 'the tiny pack declares an embedding');
  m.embedding.dim += 1;
  fs.writeFileSync(mp, JSON.stringify(m));
  const e = await refusal(d);
  assert.equal(e?.code, 'MODEL_CORRUPT');
  assert.match(e!.message, /embedding/);
  m.embedding.dim -= 1;
  m.outputs = m.outputs.filter((o: { name: string }) => o.name !== 'embedding');
  fs.writeFileSync(mp, JSON.stringify(m));
  const e2 = await refusal(d);
  assert.equal(e2?.code, 'MODEL_CORRUPT');
  assert.match(e2!.message, /embedding/);
});
