// Timing script (not a test): decodeImage end to end (parse, pixel normalisation, min/max, histogram, windows)
// on a synthetic 2000 x 2500 16-bit uncompressed DICOM written with dcmjs to a temp dir, plus the compressed
// variants for reference. Run: node --import tsx electron/core/imaging/measure-decode.ts [runs]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeImage, loadCodecs } from './index';
import { TS, makeDicom, testImage } from './testFixtures';

const runs = Number(process.argv[2] ?? 21);
const ROWS = 2500;
const COLUMNS = 2000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function time(label: string, file: string, n: number): Promise<void> {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const img = await decodeImage(bytes, file);
    ms.push(performance.now() - t0);
    if (img.rows !== ROWS || img.columns !== COLUMNS) throw new Error('wrong size');
  }
  console.log(`${label.padEnd(44)} ${(bytes.length / 2 ** 20).toFixed(1).padStart(5)} MB  median ${median(ms).toFixed(1).padStart(6)} ms  min ${Math.min(...ms).toFixed(1).padStart(6)} ms  (${n} runs)`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxr-measure-'));
try {
  const px = testImage(ROWS, COLUMNS, 12, 1);
  const write = (name: string, bytes: Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  };
  const explicit = write('explicit.dcm', makeDicom({ rows: ROWS, columns: COLUMNS, bitsStored: 12, pixels: px }));
  const signed = write('signed.dcm', makeDicom({ rows: ROWS, columns: COLUMNS, bitsStored: 16, pixelRepresentation: 1, pixels: px }));
  const implicit = write('implicit.dcm', makeDicom({ transferSyntax: TS.implicitLE, rows: ROWS, columns: COLUMNS, bitsStored: 12, pixels: px }));

  await loadCodecs(); // one-time WebAssembly start-up, not part of a per-file import
  // warm-up (JIT) so the medians describe steady state
  for (let i = 0; i < 3; i++) await decodeImage(new Uint8Array(fs.readFileSync(explicit)), explicit);

  await time('uncompressed 16-bit (explicit VR LE), 12 stored', explicit, runs);
  await time('uncompressed 16-bit signed', signed, runs);
  await time('uncompressed 16-bit (implicit VR LE)', implicit, runs);

  const { NativeCodecs, Context } = await loadCodecs();
  const raw = new Uint8Array(px.buffer);
  const encode = (fn: 'encodeJpegLs' | 'encodeJpeg2000' | 'encodeHtJpeg2000' | 'encodeJpeg' | 'encodeRle', params: Record<string, unknown>) =>
    (NativeCodecs[fn] as (c: InstanceType<typeof Context>, p: Record<string, unknown>) => InstanceType<typeof Context>)(
      new Context({ width: COLUMNS, height: ROWS, bitsAllocated: 16, bitsStored: 12, samplesPerPixel: 1, pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'MONOCHROME2', decodedBuffer: raw }),
      params,
    ).getEncodedBuffer()!;
  const compressed: Array<[string, string, Uint8Array]> = [
    ['RLE', TS.rle, encode('encodeRle', {})],
    ['JPEG lossless SV1', TS.jpegLosslessSV1, encode('encodeJpeg', { lossy: false })],
    ['JPEG-LS lossless', TS.jpegLsLossless, encode('encodeJpegLs', { lossy: false })],
    ['JPEG 2000 lossless', TS.j2kLossless, encode('encodeJpeg2000', { lossy: false })],
    ['HTJ2K lossless', TS.htj2kLossless, encode('encodeHtJpeg2000', { lossy: false })],
  ];
  for (const [label, ts, frame] of compressed) {
    const f = write(`${label}.dcm`, makeDicom({ transferSyntax: ts, rows: ROWS, columns: COLUMNS, bitsStored: 12, frames: [frame.slice()] }));
    await time(label, f, 5);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
