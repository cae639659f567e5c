// `cxr store check`: the case store's integrity check (core/integrity) from the command line. Exit 0: every check
// passed; 1: a problem was found (each is printed), or the store could not be opened; 2: usage.
import { parseArgs } from 'node:util';
import { checkStore } from '../core/integrity/index';
import { toErrorInfo } from '../core/errors';
import type { Out } from './out';
import { openCliStore } from './store';

const USAGE = 'Usage: cxr store check [--db FILE] [--json]';

export async function runStore(argv: string[], out: Out): Promise<number> {
  let o;
  try {
    o = parseArgs({ args: argv, allowPositionals: true, options: { db: { type: 'string' }, json: { type: 'boolean', default: false } } });
  } catch (e) {
    out.err(`cxr store: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [sub, ...rest] = o.positionals;
  if (sub !== 'check' || rest.length > 0) {
    out.err(USAGE);
    return 2;
  }
  const json = o.values.json ?? false;
  let store;
  try {
    store = openCliStore(o.values.db);
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(json ? JSON.stringify({ ok: false, error: info }) : `cxr: ${info.code}: ${info.message}`);
    return 1;
  }
  try {
    const report = checkStore(store);
    if (json) out.log(JSON.stringify(report));
    else {
      const c = report.checked;
      for (const p of report.problems) out.log(`problem   ${p.area}: ${p.message}`);
      out.log(
        `${report.ok ? 'ok' : 'PROBLEMS'}: schema ${c.schemaVersion}, ${c.images} images (${c.blobs} files decrypted and hashed), ${c.auditEntries} audit entries` +
          `${report.auditHeadSha256 ? ` (head ${report.auditHeadSha256})` : ''}, ${c.signatures} signatures`,
      );
    }
    return report.ok ? 0 : 1;
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(json ? JSON.stringify({ ok: false, error: info }) : `cxr: ${info.code}: ${info.message}`);
    return 1;
  } finally {
    store.close();
  }
}
