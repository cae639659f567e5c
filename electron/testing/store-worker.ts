// A child process for the fault tests (crash test, backup during writes): it imports small generated PNG images and
// saves annotation versions on them through the core services, printing an acknowledgement line after each commit:
//   ack import <imageId> <pixelSha256>
//   ack edit <imageId> <version> <maskSha256>
// It runs until killed. Usage: node --import tsx electron/testing/store-worker.ts DB SEED
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as PngjsNs from 'pngjs';
import { CaseStore } from '../core/store/index';
import { importBytes } from '../core/importing/index';
import { saveAnnotationVersion } from '../core/annotations/index';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof PngjsNs;

const [dbPath, seedArg] = process.argv.slice(2);
let seed = Number(seedArg) >>> 0 || 1;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

/** A 96 x 96 grey chest-like gradient, unique per (seed, n) so each import is a new image. */
function png(n: number): Uint8Array {
  const w = 96;
  const img = new PNG({ width: w, height: w, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const base = Math.floor(rand() * 200);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) img.data[y * w + x] = (base + x + y * 2 + n * 7 + (x * y) % 13) & 255;
  return new Uint8Array(PNG.sync.write(img, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}

const store = CaseStore.open(dbPath);
const out = (line: string) => process.stdout.write(`${line}\n`);
out('ready');
const images: { id: number; version: number }[] = [];

async function main(): Promise<void> {
  for (let n = 0; ; n++) {
    if (images.length === 0 || rand() < 0.4) {
      const r = await importBytes(store, png(n), `crash-${seedArg}-${n}.png`);
      if (r.status === 'imported') {
        const px = store.getImage(r.imageId).pixelSha256;
        images.push({ id: r.imageId, version: 0 });
        out(`ack import ${r.imageId} ${px}`);
      }
    } else {
      const img = images[Math.floor(rand() * images.length)];
      const packed = new Uint8Array(Math.ceil((96 * 96) / 8)).map(() => Math.floor(rand() * 256));
      const saved = saveAnnotationVersion(store.db, img.id, {
        author: 'crash.test',
        baseVersion: img.version,
        findings: [],
        masks: [{ id: `m${n}`, label: 'lesion', source: 'user', width: 96, height: 96, packed }],
      });
      img.version = saved.version;
      out(`ack edit ${img.id} ${saved.version} ${createHash('sha256').update(packed).digest('hex')}`);
    }
  }
}

main().catch((e) => {
  process.stderr.write(`store-worker: ${(e as Error).stack}\n`);
  process.exit(1);
});
