// Shared setup of the CLI tests that run the model (cxr analyze, cxr ask, cxr eval): the tiny random-weight pack, the
// Shenzhen manifest and its first image, a file that is not an image, the model options, and a command run with its
// output captured.
import fs from 'node:fs';
import path from 'node:path';
import type { Out } from '../cli/out';
import { tinyPack } from '../core/inference/testPack';
import { datasetsDir, tempDir } from './index';

/** The tiny pack (built once per script version; `dir` is null with the reason where python3 + torch are missing). */
export const pack = tinyPack();

/** The Shenzhen set's manifest in the shared data sets. */
export const shenzhenManifest = path.join(datasetsDir, 'shenzhen', 'manifest.jsonl');

/** `skip` for the tests that need the pack and the Shenzhen set: the reason one is missing, or false. */
export const needsModel: string | false = !pack.dir ? `tiny pack unavailable: ${pack.reason}` : !fs.existsSync(shenzhenManifest) ? `${shenzhenManifest} not found` : false;

/** The image of the Shenzhen manifest's first row. */
export function shenzhenImage(): string {
  const row = JSON.parse(fs.readFileSync(shenzhenManifest, 'utf8').split('\n')[0]);
  return path.join(datasetsDir, 'shenzhen', row.image);
}

/** A file named notes.png that holds text, in a new temporary folder. */
export function notAnImage(prefix = 'cxr-cli-'): string {
  const file = path.join(tempDir(prefix), 'notes.png');
  fs.writeFileSync(file, 'not an image');
  return file;
}

/** `--json --model <tiny pack> [--ep <ep>] --threads 1` (the pack must be there). */
export function modelArgs(ep?: 'cpu'): string[] {
  return ['--json', '--model', pack.dir!, ...(ep ? ['--ep', ep] : []), '--threads', '1'];
}

/** An Out that keeps what a command writes. */
export function capture(): { lines: string[]; errs: string[]; out: Out } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: { log: (s: string) => lines.push(s), err: (s: string) => errs.push(s) } };
}

/** Runs a command (runAnalyze, runAsk, runEval, ...) with `args`: its exit code, its lines and its error lines. */
export async function runCli(run: (args: string[], out: Out) => Promise<number>, args: string[]): Promise<{ code: number; lines: string[]; errs: string[]; json: (i?: number) => any }> {
  const c = capture();
  const code = await run(args, c.out);
  return { code, lines: c.lines, errs: c.errs, json: (i = 0) => JSON.parse(c.lines[i]) };
}
