// Commands that parse their own options, each in a module of its own, loaded only when used. Add one line per
// command: its name, a one-line usage for `cxr --help`, and the module that runs it.
import type { Out } from './out';

export interface CommandModule {
  run(argv: string[], out: Out): Promise<number>;
}

export interface CommandEntry {
  usage: string;
  load(): Promise<CommandModule>;
}

export const commands: Record<string, CommandEntry> = {
  analyze: { usage: 'analyze FILE...  read images with the model: cxr analyze FILE... --json [--model DIR] [--ep cpu|cuda|dml]', load: async () => ({ run: (await import('./analyze')).runAnalyze }) },
  eval: { usage: 'eval             measure the model: cxr eval --manifest FILE [--manifest FILE...] [--split test|val] --json [--model DIR]', load: async () => ({ run: (await import('./analyze')).runEval }) },
};
