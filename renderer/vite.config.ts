// Builds the renderer into dist/renderer/. `base: './'` makes every asset URL relative, so the same build loads from
// file:// in Electron and from the local web server. No inline scripts are emitted (the CSP forbids them).
// CXR_RENDERER_OUT builds it elsewhere (parallel work on one machine: each worker its own copy); `cxr serve` reads
// the same variable.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  build: {
    outDir: process.env.CXR_RENDERER_OUT ? path.resolve(process.env.CXR_RENDERER_OUT) : path.resolve(here, '../dist/renderer'),
    emptyOutDir: true,
    target: 'chrome120',
    // Keep every asset a separate file: a data: URL for a script would break the CSP.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { host: '127.0.0.1' },
});
