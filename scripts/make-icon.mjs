// Draws the application icon (build/icon.png, 512x512): a dark rounded tile with a frontal chest radiograph's
// two lung fields and a triage mark. electron-builder derives the Windows .ico and the Linux icon sizes from it.
// Run `node scripts/make-icon.mjs` after changing the drawing; the PNG is committed.
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

const S = 512;

/** Coverage (0..1) of pixel (x, y) by a shape given as an inside() test, with 4x4 supersampling. */
function coverage(x, y, inside) {
  let n = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (inside(x + (i + 0.5) / 4, y + (j + 0.5) / 4)) n++;
  return n / 16;
}

const roundedSquare = (px, py) => {
  const r = 96, m = 16;
  const cx = Math.min(Math.max(px, m + r), S - m - r);
  const cy = Math.min(Math.max(py, m + r), S - m - r);
  return (px - cx) ** 2 + (py - cy) ** 2 <= r * r && px >= m && px <= S - m && py >= m && py <= S - m;
};
// Each lung: an ellipse cut on its inner side by the mediastinum, flatter at the top.
const lung = (side) => (px, py) => {
  const cx = S / 2 + side * 92, cy = 270, rx = 78, ry = 150;
  const inside = ((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2 <= 1;
  const mediastinum = side * (px - S / 2) < 34 + Math.max(0, (py - 300) * 0.25);
  return inside && !mediastinum && py < 400;
};
const spine = (px, py) => Math.abs(px - S / 2) < 14 && py > 110 && py < 430;
const mark = (px, py) => (px - 392) ** 2 + (py - 128) ** 2 <= 36 ** 2;

const png = new PNG({ width: S, height: S });
for (let y = 0; y < S; y++) {
  for (let x = 0; x < S; x++) {
    const i = (y * S + x) * 4;
    const tile = coverage(x, y, roundedSquare);
    let r = 11, g = 13, b = 16; // the app's background colour
    const blend = (c, a) => {
      r = r * (1 - a) + c[0] * a;
      g = g * (1 - a) + c[1] * a;
      b = b * (1 - a) + c[2] * a;
    };
    blend([214, 222, 230], 0.85 * (coverage(x, y, lung(-1)) + coverage(x, y, lung(1))));
    blend([120, 132, 146], coverage(x, y, spine));
    blend([245, 166, 35], coverage(x, y, mark));
    png.data[i] = Math.round(r);
    png.data[i + 1] = Math.round(g);
    png.data[i + 2] = Math.round(b);
    png.data[i + 3] = Math.round(255 * tile);
  }
}
const out = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'build', 'icon.png');
fs.writeFileSync(out, PNG.sync.write(png));
console.log(`wrote ${out}`);
