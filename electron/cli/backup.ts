// `cxr backup OUT`, `cxr restore IN` and `cxr passphrase`: the whole case store (database, images, originals) to
// one archive file and back, and the recovery passphrase that lets a backup open on another station.
// The store's key comes from its key file; where that needs the recovery passphrase, from CXR_PASSPHRASE.
import { parseArgs } from 'node:util';
import type { CaseStore } from '../core/store/index';
import { createBackup, restoreBackup, readBackup } from '../core/backup/index';
import { protectionStatus, setRecoveryPassphrase } from '../core/crypto/index';
import { toErrorInfo } from '../core/errors';
import { APP_NAME, APP_VERSION } from '../core/api/index';
import type { Out } from './out';
import { cliDbPath, cliKeyAccess, openCliStore } from './store';


function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { db: { type: 'string' }, json: { type: 'boolean', default: false }, yes: { type: 'boolean', default: false }, status: { type: 'boolean', default: false } },
  });
}

function fail(out: Out, json: boolean, e: unknown): number {
  const info = toErrorInfo(e);
  out.err(json ? JSON.stringify({ error: info }) : `cxr: ${info.code}: ${info.message}`);
  return 1;
}

/** Opens the store named by --db, runs `work` on it and closes it; a failure to open or to work prints as an error. */
async function withStore(out: Out, json: boolean, db: string | undefined, work: (store: CaseStore) => Promise<number>): Promise<number> {
  let store: CaseStore;
  try {
    store = openCliStore(db);
  } catch (e) {
    return fail(out, json, e);
  }
  try {
    return await work(store);
  } catch (e) {
    return fail(out, json, e);
  } finally {
    store.close();
  }
}

export async function runBackup(argv: string[], out: Out): Promise<number> {
  let o;
  try {
    o = parse(argv);
  } catch (e) {
    out.err(`cxr backup: ${(e as Error).message}\nUsage: cxr backup OUT [--db FILE] [--json]   (OUT: a file, or a folder for a dated file)`);
    return 2;
  }
  const [target] = o.positionals;
  if (!target) {
    out.err('Usage: cxr backup OUT [--db FILE] [--json]   (OUT: a file, or a folder for a dated file)');
    return 2;
  }
  const json = o.values.json ?? false;
  return withStore(out, json, o.values.db, async (store) => {
    const b = await createBackup(store, target, { name: APP_NAME, version: APP_VERSION });
    out.log(json ? JSON.stringify(b) : `backup written: ${b.path} (${(b.bytes / 2 ** 20).toFixed(1)} MB, ${b.cases} cases, ${b.images} images)`);
    if (!json && !b.portable) out.err('Note: no recovery passphrase is set, so this backup opens only on this station (with its key file). Set one with `cxr passphrase`.');
    return 0;
  });
}

export async function runRestore(argv: string[], out: Out): Promise<number> {
  let o;
  try {
    o = parse(argv);
  } catch (e) {
    out.err(`cxr restore: ${(e as Error).message}`);
    return 2;
  }
  const [file] = o.positionals;
  const json = o.values.json ?? false;
  if (!file) {
    out.err('Usage: cxr restore IN [--db FILE] --yes [--json]   (stop the app first; the current store is kept in a before-restore folder)');
    return 2;
  }
  const dbPath = cliDbPath(o.values.db);
  try {
    if (!o.values.yes) {
      const { manifest } = readBackup(file);
      out.err(`${file}: a backup of ${manifest.cases} cases and ${manifest.images} images made ${manifest.createdAt}.\nRestoring replaces the case store at ${dbPath} (the current one is kept in a before-restore folder). Stop the app, then run again with --yes.`);
      return 2;
    }
    const r = restoreBackup(file, dbPath, cliKeyAccess(), 'now');
    out.log(json ? JSON.stringify({ restored: r.summary, previous: r.previous, db: dbPath }) : `restored ${r.summary.cases} cases and ${r.summary.images} images from ${r.summary.path} into ${dbPath}; the replaced store is in ${r.previous}`);
    return 0;
  } catch (e) {
    return fail(out, json, e);
  }
}

/** `cxr passphrase`: set the recovery passphrase, read from the first line of standard input. */
export async function runPassphrase(argv: string[], out: Out): Promise<number> {
  let o;
  try {
    o = parse(argv);
  } catch (e) {
    out.err(`cxr passphrase: ${(e as Error).message}`);
    return 2;
  }
  const json = o.values.json ?? false;
  return withStore(out, json, o.values.db, async (store) => {
    if (!o.values.status) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const phrase = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
      setRecoveryPassphrase(store.keyPath, store.dataKey(), phrase, cliKeyAccess());
    }
    const s = protectionStatus(store.keyPath);
    out.log(json ? JSON.stringify(s) : `key file ${s.keyFile}: protected by ${s.protectors.join(', ')}${s.passphraseSetAt ? ` (recovery passphrase set ${s.passphraseSetAt})` : ''}`);
    return 0;
  });
}
