#!/usr/bin/env node
// `cxr` command: runs the TypeScript CLI through tsx, so that no build step stands between `npm install` and use.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
