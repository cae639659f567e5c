// Bundles the Electron main process (ESM) and the sandboxed preload (one CommonJS file) into dist/electron.
// Packages stay external in main (native modules and WASM codecs load from node_modules or app.asar.unpacked).
import { build } from 'esbuild';

await build({
  entryPoints: ['electron/main/index.ts'],
  outfile: 'dist/electron/main.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});

await build({
  entryPoints: ['electron/preload/index.ts'],
  outfile: 'dist/electron/preload.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: ['electron'],
  sourcemap: true,
  logLevel: 'warning',
});
console.log('built dist/electron/main.mjs and dist/electron/preload.cjs');
