// Binary-safe wire format for the HTTP transport: a JSON document whose Uint8Array values travel as raw bytes
// after it, never as JSON arrays of numbers. Layout: 'CXR1', u32 LE JSON length, JSON (UTF-8), then the blobs.
// Each blob is referenced in the JSON as {"$bin": index, "$len": byteLength}.

const MAGIC = [0x43, 0x58, 0x52, 0x31];

export function encodeWire(value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value, (_key, v) => {
    if (v instanceof Uint8Array) {
      blobs.push(v);
      return { $bin: blobs.length - 1, $len: v.byteLength };
    }
    return v;
  });
  const head = new TextEncoder().encode(json);
  const total = 8 + head.byteLength + blobs.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, head.byteLength, true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const b of blobs) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

export class WireFormatError extends Error {}

export interface DecodeOptions {
  /** largest JSON part accepted (a receiving server bounds what parsing a request may cost) */
  maxJsonBytes?: number;
  /** blobs as views of `data` instead of copies (the receiver keeps `data` alive as long as it needs them) */
  views?: boolean;
}

export function decodeWire(data: Uint8Array, opts: DecodeOptions = {}): unknown {
  if (data.byteLength < 8 || MAGIC.some((m, i) => data[i] !== m)) throw new WireFormatError('not a CXR1 message');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headLen = view.getUint32(4, true);
  if (8 + headLen > data.byteLength) throw new WireFormatError('truncated message header');
  if (opts.maxJsonBytes !== undefined && headLen > opts.maxJsonBytes) throw new WireFormatError(`the JSON part is ${headLen} bytes, over the ${opts.maxJsonBytes} byte limit`);
  const json = new TextDecoder().decode(data.subarray(8, 8 + headLen));
  const parsed = JSON.parse(json) as unknown;
  // Blobs follow in index order, so their offsets are the running sum of the lengths seen so far.
  const lengths: number[] = [];
  collectLengths(parsed, lengths);
  const offsets: number[] = [];
  let at = 8 + headLen;
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] === undefined) throw new WireFormatError(`missing blob ${i}`);
    offsets[i] = at;
    at += lengths[i];
  }
  if (at !== data.byteLength) throw new WireFormatError('message length does not match its blobs');
  return revive(parsed, data, offsets, lengths, opts.views === true);
}

function isBinRef(v: unknown): v is { $bin: number; $len: number } {
  return typeof v === 'object' && v !== null && typeof (v as { $bin?: unknown }).$bin === 'number' && typeof (v as { $len?: unknown }).$len === 'number';
}

function collectLengths(v: unknown, lengths: number[]): void {
  if (isBinRef(v)) {
    if (!Number.isInteger(v.$bin) || v.$bin < 0 || v.$bin > 1_000_000 || !Number.isInteger(v.$len) || v.$len < 0) throw new WireFormatError('bad blob reference');
    lengths[v.$bin] = v.$len;
  } else if (Array.isArray(v)) v.forEach((x) => collectLengths(x, lengths));
  else if (typeof v === 'object' && v !== null) Object.values(v).forEach((x) => collectLengths(x, lengths));
}

function revive(v: unknown, data: Uint8Array, offsets: number[], lengths: number[], views: boolean): unknown {
  if (isBinRef(v)) return views ? data.subarray(offsets[v.$bin], offsets[v.$bin] + lengths[v.$bin]) : data.slice(offsets[v.$bin], offsets[v.$bin] + lengths[v.$bin]);
  if (Array.isArray(v)) return v.map((x) => revive(x, data, offsets, lengths, views));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = revive(x, data, offsets, lengths, views);
    return out;
  }
  return v;
}
