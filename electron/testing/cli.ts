// Shared setup of the CLI tests: the command run in-process with its output captured (runCli, capture) or as the
// real `bin/cxr.mjs` process (cxrProcess); and, for the commands that run the model (cxr analyze, cxr ask, cxr eval),
// the tiny random-weight pack, the Shenzhen manifest and its first image, a file that is not an image, and the model
// options. Nothing runs at import: the tiny pack is built on the first call that needs it (tinyPack memoizes it).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Out } from '../cli/out';
import { tinyPack } from '../core/inference/testPack';
import { datasetsDir, repoRoot, tempDir } from './index';

/** The Shenzhen set's manifest in the shared data sets. */
export const shenzhenManifest = path.join(datasetsDir, 'shenzhen', 'manifest.jsonl');

/** `skip` for the tests that need the tiny pack and the Shenzhen set: the reason one is missing, or false. */
export function needsModel(): string | false {
  const pack = tinyPack();
  return !pack.dir ? `tiny pack unavailable: ${pack.reason}` : !fs.existsSync(shenzhenManifest) ? `${shenzhenManifest} not found` : false;
}

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
  return ['--json', '--model', tinyPack().dir!, ...(ep ? ['--ep', ep] : []), '--threads', '1'];
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

/** Runs `bin/cxr.mjs` as a user would, in its own process: exit code, non-empty stdout lines, stderr. */
export function cxrProcess(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): { code: number | null; lines: string[]; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'cxr.mjs'), ...args], {
    encoding: 'utf8',
    cwd: repoRoot,
    timeout: opts.timeoutMs ?? 120_000,
    input: opts.input,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, lines: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}
