// PNG and JPEG are decoded off the main thread, one file at a time, under the per-file time limit: the event loop
// keeps turning while a large image decodes (the UI's calls are answered meanwhile), and a decode past the limit
// is stopped with DECODE_LIMIT, after which the next file decodes normally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type * as JpegJsNs from 'jpeg-js';
import { AppError } from '../errors';
import { configureImaging, decodeImage, DEFAULT_DECODE_TIMEOUT_MS, rasterJobs } from './index';
import { blankPng } from '../../testing/bombs';

const require = createRequire(import.meta.url);
const jpegjs = require('jpeg-js') as typeof JpegJsNs;

function jpeg(width: number, height: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.fill((i * 7) % 251, i * 4, i * 4 + 3);
  return new Uint8Array(jpegjs.encode({ width, height, data }, 90).data);
}

/** How many turns the event loop makes while `work` is pending (0 if it blocks the thread until it settles). */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let pending = true;
  const spin = () => {
    if (!pending) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const p = work();
  try {
    await p;
  } finally {
    pending = false;
  }
  return turns;
}

test('a large PNG and a large JPEG decode while the event loop keeps turning', async () => {
  const png = blankPng(2000, 2000, 90);
  const jpg = jpeg(800, 800);
  const before = rasterJobs();
  const pngTurns = await turnsDuring(() => decodeImage(png, 'big.png'));
  const jpgTurns = await turnsDuring(() => decodeImage(jpg, 'big.jpg'));
  assert.equal(rasterJobs(), before + 2, 'both went to the decoder thread');
  // decoded in the calling thread, the loop could not turn at all until the decode was done
  assert.ok(pngTurns > 10, `PNG: ${pngTurns} turns`);
  assert.ok(jpgTurns > 10, `JPEG: ${jpgTurns} turns`);
});

test('a PNG or JPEG decode past the per-file time limit is stopped (DECODE_LIMIT), and the next one decodes', async () => {
  const png = blankPng(2000, 2000, 70);
  const jpg = jpeg(600, 600);
  configureImaging({ decodeTimeoutMs: 1 });
  try {
    for (const [bytes, name] of [[png, 'slow.png'], [jpg, 'slow.jpg']] as const) {
      await assert.rejects(decodeImage(bytes, name), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'DECODE_LIMIT', e.message);
        assert.match(e.message, new RegExp(`^${name}: decoding took longer than the 1 ms allowed per file and was abandoned`));
        return true;
      });
    }
  } finally {
    configureImaging({ decodeTimeoutMs: DEFAULT_DECODE_TIMEOUT_MS });
  }
  assert.equal((await decodeImage(png, 'again.png')).maxPixel, 70);
  assert.equal((await decodeImage(jpg, 'again.jpg')).columns, 600);
});

test('several files at once wait their turn; each gets its own time', async () => {
  const files = [1, 2, 3, 4].map((v) => blankPng(1200, 1200, v));
  const decoded = await Promise.all(files.map((f, i) => decodeImage(f, `${i}.png`)));
  assert.deepEqual(decoded.map((d) => d.maxPixel), [1, 2, 3, 4]);
});
