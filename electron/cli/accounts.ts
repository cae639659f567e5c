// `cxr users ...` and `cxr audit ...`: account administration and the audit log's check from the command line, for
// the clinic's IT person (who holds the database file, and so acts outside the station's sign-in; every change is
// audited as `cli:<operating-system user>`).
import { parseArgs } from 'node:util';
import os from 'node:os';
import readline from 'node:readline';
import type { CaseStore } from '../core/store/index';
import { openCliStore } from './store';
import { toErrorInfo } from '../core/errors';
import { ROLES, countUsers, createUser, listUsers, updateUser, verifyAudit, listAudit, type Role } from '../core/accounts/index';
import type { Out } from './out';

const USERS_USAGE = `Usage: cxr users <list|create|disable|enable|reset-password> [options]
  cxr users list [--json]
  cxr users create USERNAME --role ${ROLES.join('|')} --name "FULL NAME" [--lead]   (password read from standard input)
  cxr users disable USERNAME | enable USERNAME
  cxr users lead USERNAME [--off]                                         mark a radiologist lead radiologist (calibrates the site)
  cxr users reset-password USERNAME                                       (new password from standard input)
Options: --db FILE (default: the app's own database)`;

const AUDIT_USAGE = `Usage: cxr audit <verify|list> [--db FILE] [--json]
  cxr audit verify            check the audit log's hash chain; names the first broken entry (exit code 1)
  cxr audit list [--limit N] [--case ID]`;

function cliActor(): { userId: null; username: string } {
  let name = 'unknown';
  try {
    name = os.userInfo().username || name;
  } catch {
    // no user database entry: keep the generic name
  }
  return { userId: null, username: `cli:${name}` };
}


/** A password from standard input: typed twice without echo on a terminal, else the first line. */
async function readPassword(out: Out): Promise<string> {
  if (process.stdin.isTTY) {
    const ask = (q: string) =>
      new Promise<string>((resolve) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
        const rlOut = rl as unknown as { _writeToOutput: (s: string) => void };
        process.stderr.write(q);
        rlOut._writeToOutput = () => {};
        rl.question('', (a) => {
          rl.close();
          process.stderr.write('\n');
          resolve(a);
        });
      });
    const a = await ask('Password: ');
    const b = await ask('Password again: ');
    if (a !== b) {
      out.err('cxr users: the two passwords differ');
      throw new Error('passwords differ');
    }
    return a;
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

export async function runUsers(argv: string[], out: Out): Promise<number> {
  let p;
  try {
    p = parseArgs({ args: argv, allowPositionals: true, options: { db: { type: 'string' }, json: { type: 'boolean', default: false }, role: { type: 'string' }, name: { type: 'string' }, lead: { type: 'boolean', default: false }, off: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  } catch (e) {
    out.err(`cxr users: ${(e as Error).message}\n${USERS_USAGE}`);
    return 2;
  }
  const [sub, username] = p.positionals;
  const o = p.values;
  if (o.help || !sub) {
    out.log(USERS_USAGE);
    return o.help ? 0 : 2;
  }
  if (sub !== 'list' && !username) {
    out.err(`cxr users ${sub}: name the user\n${USERS_USAGE}`);
    return 2;
  }
  let store: CaseStore | null = null;
  try {
    store = openCliStore(o.db);
    const db = store.db;
    const find = () => {
      const u = listUsers(db).find((x) => x.username.toLowerCase() === username.toLowerCase());
      if (!u) throw Object.assign(new Error(`There is no user ${username}.`), { code: 'NOT_FOUND' });
      return u;
    };
    switch (sub) {
      case 'list': {
        for (const u of listUsers(db)) {
          out.log(o.json ? JSON.stringify(u) : [u.username.padEnd(20), `${u.role}${u.lead ? ' (lead)' : ''}`.padEnd(21), u.disabled ? 'disabled' : 'active  ', u.displayName].join(' '));
        }
        return 0;
      }
      case 'create': {
        if (!o.role || !ROLES.includes(o.role as Role) || !o.name) {
          out.err(`cxr users create: --role (${ROLES.join(', ')}) and --name are required\n${USERS_USAGE}`);
          return 2;
        }
        const first = countUsers(db) === 0;
        if (first && o.role !== 'administrator') {
          out.err('cxr users create: this station has no accounts yet; the first account must be an administrator.');
          return 1;
        }
        const password = await readPassword(out);
        const u = await createUser(db, { username, displayName: o.name, role: o.role as Role, password, lead: o.lead === true }, cliActor(), { firstAdministrator: first });
        out.log(o.json ? JSON.stringify(u) : `created ${u.username} (${u.role})`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        const u = await updateUser(db, find().id, { disabled: sub === 'disable' }, cliActor());
        out.log(o.json ? JSON.stringify(u) : `${u.username} is ${u.disabled ? 'disabled' : 'active'}`);
        return 0;
      }
      case 'lead': {
        const u = await updateUser(db, find().id, { lead: o.off !== true }, cliActor());
        out.log(o.json ? JSON.stringify(u) : `${u.username} is ${u.lead ? 'now' : 'no longer'} a lead radiologist`);
        return 0;
      }
      case 'reset-password': {
        const target = find();
        const password = await readPassword(out);
        await updateUser(db, target.id, { password }, cliActor());
        out.log(o.json ? JSON.stringify({ username: target.username, passwordReset: true }) : `new password set for ${target.username}; a lock-out is lifted`);
        return 0;
      }
      default:
        out.err(`cxr users: unknown subcommand '${sub}'\n${USERS_USAGE}`);
        return 2;
    }
  } catch (e) {
    const info = toErrorInfo(e);
    const code = (e as { code?: string }).code === 'NOT_FOUND' ? 'NOT_FOUND' : info.code;
    out.err(o.json ? JSON.stringify({ error: { code, message: info.message } }) : `cxr users: ${code}: ${info.message}`);
    return 1;
  } finally {
    store?.close();
  }
}

export async function runAudit(argv: string[], out: Out): Promise<number> {
  let p;
  try {
    p = parseArgs({ args: argv, allowPositionals: true, options: { db: { type: 'string' }, json: { type: 'boolean', default: false }, limit: { type: 'string' }, case: { type: 'string' }, help: { type: 'boolean', default: false } } });
  } catch (e) {
    out.err(`cxr audit: ${(e as Error).message}\n${AUDIT_USAGE}`);
    return 2;
  }
  const [sub] = p.positionals;
  const o = p.values;
  if (o.help || (sub !== 'verify' && sub !== 'list')) {
    if (!o.help) out.err(AUDIT_USAGE);
    else out.log(AUDIT_USAGE);
    return o.help ? 0 : 2;
  }
  let store: CaseStore | null = null;
  try {
    store = openCliStore(o.db);
    if (sub === 'verify') {
      const v = verifyAudit(store.db);
      if (o.json) out.log(JSON.stringify(v));
      else if (v.ok) out.log(`audit log intact: ${v.entries} entries, head ${v.headSha256}`);
      else out.log(`audit log BROKEN at entry ${v.brokenAt}: ${v.reason} (${v.entries} entries checked)`);
      return v.ok ? 0 : 1;
    }
    const entries = listAudit(store.db, { limit: o.limit ? Number(o.limit) : 100, ...(o.case ? { targetType: 'case', targetId: o.case } : {}) });
    for (const e of entries.reverse()) {
      out.log(o.json ? JSON.stringify(e) : [String(e.id).padStart(6), e.at, e.actorName.padEnd(16), e.action.padEnd(22), e.targetType ? `${e.targetType} ${e.targetId}` : '', JSON.stringify(e.details)].join('  '));
    }
    return 0;
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(o.json ? JSON.stringify({ error: info }) : `cxr audit: ${info.code}: ${info.message}`);
    return 1;
  } finally {
    store?.close();
  }
}
