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
  ask: { usage: 'ask FILE "Q"     answer a question about an image from the model\'s findings: cxr ask FILE "QUESTION" --json [--model DIR]', load: async () => ({ run: (await import('./ask')).runAsk }) },
  users: { usage: 'users SUB        accounts: cxr users list|create USER --role R --name N [--lead]|disable USER|enable USER|lead USER [--off]|reset-password USER [--db FILE]', load: async () => ({ run: (await import('./accounts')).runUsers }) },
  audit: { usage: 'audit verify     check the audit log hash chain (names the first broken entry): cxr audit verify|list [--db FILE] [--json]', load: async () => ({ run: (await import('./accounts')).runAudit }) },
  store: { usage: 'store check      check the case store: SQLite integrity, foreign keys, every image file against its hash, the audit chain, signatures: cxr store check [--db FILE] [--json]', load: async () => ({ run: (await import('./check')).runStore }) },
  backup: { usage: 'backup OUT       the whole case store (database, images) to one archive file, while the app runs: cxr backup OUT [--db FILE] [--json]', load: async () => ({ run: (await import('./backup')).runBackup }) },
  restore: { usage: 'restore IN       replace the case store by a backup, after checking it (app stopped): cxr restore IN --yes [--db FILE] [--json]', load: async () => ({ run: (await import('./backup')).runRestore }) },
  passphrase: { usage: 'passphrase       set the recovery passphrase (first line of stdin) that opens backups elsewhere: cxr passphrase [--status] [--db FILE]', load: async () => ({ run: (await import('./backup')).runPassphrase }) },
  export: { usage: 'export CASE      a case as a file: cxr export CASE --format pdf|sr|seg|pdf-dicom|json --out FILE [--image ID] [--db FILE] [--json]', load: async () => ({ run: (await import('./export')).runExport }) },
  receive: { usage: 'receive          run the DICOM receiver: cxr receive --aet AE --port N [--allow AE,...] [--model DIR|--no-model] [--db FILE] [--json]', load: async () => ({ run: (await import('./network')).runReceive }) },
  site: { usage: 'site SUB         site calibration: cxr site results import FILE.csv|calibrate|fit|status|rollback [--db FILE]; calibrate|fit|simulate --manifest FILE (cxr site --help)', load: async () => ({ run: (await import('./site')).runSite }) },
  pacs: { usage: 'pacs SUB         archives: cxr pacs list|add|remove|echo|query|retrieve|send|queue|retry ... (cxr pacs --help)', load: async () => ({ run: (await import('./network')).runPacs }) },
};
