// `cxr receive` and `cxr pacs ...`: the station's DICOM network from the command line: run the receiver (images
// pushed by the X-ray unit are imported and analysed), configure archives, query, retrieve, send, and the queue.
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliDbPath, cliKeyAccess } from './store';
import { Workstation } from '../core/api/index';
import { defaultPackDir } from '../core/inference/index';
import { AppError, toErrorInfo } from '../core/errors';
import { publicQueueItem, publicRemote, type NetworkService, type RemoteConfig } from '../core/network/index';
import type { Out } from './out';

const RECEIVE_USAGE = `Usage: cxr receive --aet AE_TITLE --port N [--allow AE[,AE...]] [--model DIR | --no-model] [--db FILE] [--json]
  Runs the DICOM receiver (C-STORE, C-ECHO) until interrupted: images pushed to it are imported into the worklist
  and analysed; --allow limits the senders to these calling AE titles. The settings are saved for the app.`;

const PACS_USAGE = `Usage: cxr pacs <command> [options] [--db FILE] [--json]
  cxr pacs list
  cxr pacs add NAME --dimse HOST:PORT --aet AE [--retrieve C-GET|C-MOVE] [--send-results]
  cxr pacs add NAME --dicomweb URL [--user U --password P] [--send-results]
  cxr pacs remove NAME
  cxr pacs echo NAME
  cxr pacs query NAME [--name PATIENT] [--id PATIENT_ID] [--accession A] [--from DATE] [--to DATE]
  cxr pacs retrieve NAME STUDY_INSTANCE_UID
  cxr pacs send NAME --case ID          the case's signed SR, SEG and PDF
  cxr pacs send NAME FILE...            DICOM files as they are
      (send waits until the queue has delivered them, or --no-wait)
  cxr pacs queue [--state pending|sending|sent|failed]
  cxr pacs retry QUEUE_ID
  The station's own AE title (the calling AE title) is the receiver's: cxr receive --aet, or the app's settings.`;

function cliUser(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

function print(out: Out, json: boolean, value: unknown, text: string): void {
  out.log(json ? JSON.stringify(value) : text);
}

export async function runReceive(argv: string[], out: Out): Promise<number> {
  let o;
  try {
    o = parseArgs({
      args: argv,
      options: { aet: { type: 'string' }, port: { type: 'string' }, allow: { type: 'string' }, model: { type: 'string' }, 'no-model': { type: 'boolean', default: false }, db: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    }).values;
  } catch (e) {
    out.err(`cxr receive: ${(e as Error).message}\n\n${RECEIVE_USAGE}`);
    return 2;
  }
  if (o.help || !o.aet || !o.port) {
    out.log(RECEIVE_USAGE);
    return o.help ? 0 : 2;
  }
  const port = Number(o.port);
  const dbPath = cliDbPath(o.db);
  let ws: Workstation;
  try {
    ws = new Workstation({ dbPath, transport: 'http', key: cliKeyAccess(), modelDir: o['no-model'] ? undefined : path.resolve(o.model ?? defaultPackDir()) });
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(o.json ? JSON.stringify({ error: info }) : `cxr receive: ${info.code}: ${info.message}`);
    return 1;
  }
  try {
    await ws.networkReady;
    const settings = ws.network.settings();
    await ws.network.setSettings({ ...settings, receiver: { enabled: true, aeTitle: o.aet, port, whitelist: o.allow ? o.allow.split(',').map((s) => s.trim()).filter(Boolean) : [] } });
    const status = ws.network.receiverStatus();
    if (!status.running) throw new AppError((status.error?.code as 'NETWORK_PORT_IN_USE') ?? 'NETWORK_UNREACHABLE', status.error?.message ?? 'The receiver did not start.');
    print(out, o.json, { listening: status }, `Receiving as ${status.aeTitle} on port ${status.port}${o.allow ? ` (senders: ${o.allow})` : ''}; Ctrl+C stops.`);
    ws.on('network:onReceived', (r) => print(out, o.json, { received: r }, `${new Date().toISOString()}  ${r.outcome.padEnd(9)} from ${r.callingAe ?? '?'}${r.caseId !== null ? `  case ${r.caseId}` : ''}`));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(o.json ? JSON.stringify({ error: info }) : `cxr receive: ${info.code}: ${info.message}`);
    return 1;
  } finally {
    await ws.close();
  }
}

function findRemote(ns: NetworkService, name: string | undefined): RemoteConfig {
  if (!name) throw new AppError('BAD_REQUEST', 'Name the archive (cxr pacs list shows them).');
  const all = ns.repo.listRemotes();
  const r = all.find((x) => x.name.toLowerCase() === name.toLowerCase()) ?? (/^\d+$/.test(name) ? all.find((x) => x.id === Number(name)) : undefined);
  if (!r) throw new AppError('NOT_FOUND', `There is no archive called "${name}"${all.length ? `; there are: ${all.map((x) => x.name).join(', ')}` : ' (add one with cxr pacs add)'}.`);
  return r;
}

export async function runPacs(argv: string[], out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
        dimse: { type: 'string' },
        aet: { type: 'string' },
        retrieve: { type: 'string' },
        dicomweb: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        'send-results': { type: 'boolean', default: false },
        name: { type: 'string' },
        id: { type: 'string' },
        accession: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        case: { type: 'string' },
        'no-wait': { type: 'boolean', default: false },
        state: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    out.err(`cxr pacs: ${(e as Error).message}\n\n${PACS_USAGE}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const [sub, ...args] = positionals;
  if (o.help || !sub) {
    out.log(PACS_USAGE);
    return o.help ? 0 : 2;
  }
  const dbPath = cliDbPath(o.db);
  let ws: Workstation;
  try {
    // The queue runs only for `send` and `retry`, which wait for it; the receiver is not started by these commands.
    ws = new Workstation({ dbPath, transport: 'http', key: cliKeyAccess(), network: false });
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(o.json ? JSON.stringify({ error: info }) : `cxr pacs: ${info.code}: ${info.message}`);
    return 1;
  }
  const ns = ws.network;
  try {
    switch (sub) {
      case 'list': {
        const remotes = ns.repo.listRemotes().map(publicRemote);
        if (o.json) remotes.forEach((r) => out.log(JSON.stringify(r)));
        else if (!remotes.length) out.log('No archive is configured (cxr pacs add).');
        else for (const r of remotes) out.log(`${r.name.padEnd(24)} ${r.kind === 'dimse' ? `DIMSE ${r.aeTitle}@${r.host}:${r.port} (${r.retrieve})` : `DICOMweb ${r.url}`}${r.sendResults ? '  [send results]' : ''}`);
        return 0;
      }
      case 'add': {
        const [name] = args;
        if (!name || (!o.dimse && !o.dicomweb)) throw new AppError('BAD_REQUEST', 'cxr pacs add NAME needs --dimse HOST:PORT --aet AE, or --dicomweb URL.');
        let r: RemoteConfig;
        if (o.dimse) {
          const m = /^(.+):(\d+)$/.exec(o.dimse);
          if (!m) throw new AppError('BAD_REQUEST', `--dimse takes HOST:PORT (got ${o.dimse}).`);
          r = ns.repo.saveRemote({ name, kind: 'dimse', host: m[1], port: Number(m[2]), aeTitle: o.aet ?? null, retrieve: o.retrieve === 'C-MOVE' ? 'C-MOVE' : 'C-GET', sendResults: o['send-results'] });
        } else {
          r = ns.repo.saveRemote({ name, kind: 'dicomweb', url: o.dicomweb ?? null, username: o.user ?? null, password: o.password ?? null, sendResults: o['send-results'] });
        }
        print(out, o.json, publicRemote(r), `Added ${r.name}.`);
        return 0;
      }
      case 'remove': {
        const r = findRemote(ns, args[0]);
        ns.repo.removeRemote(r.id);
        print(out, o.json, { removed: r.name }, `Removed ${r.name}.`);
        return 0;
      }
      case 'echo': {
        const r = findRemote(ns, args[0]);
        const { ms } = await ns.echo(r.id);
        print(out, o.json, { remote: r.name, ms }, `${r.name} answered in ${ms} ms.`);
        return 0;
      }
      case 'query': {
        const r = findRemote(ns, args[0]);
        const studies = await ns.query({ remoteId: r.id, patientName: o.name, patientId: o.id, accessionNumber: o.accession, dateFrom: o.from, dateTo: o.to });
        if (o.json) studies.forEach((s) => out.log(JSON.stringify(s)));
        else if (!studies.length) out.log('No study matches.');
        else for (const s of studies) out.log(`${(s.studyDate ?? '--------').padEnd(9)} ${s.patientId.padEnd(14)} ${s.patientName.padEnd(24)} ${(s.accessionNumber ?? '').padEnd(12)} ${s.modalities.join('/').padEnd(8)} ${s.studyInstanceUid}${s.localCaseId !== null ? `  (case ${s.localCaseId})` : ''}`);
        return 0;
      }
      case 'retrieve': {
        const r = findRemote(ns, args[0]);
        if (!args[1]) throw new AppError('BAD_REQUEST', 'cxr pacs retrieve NAME STUDY_INSTANCE_UID');
        if (r.kind === 'dimse' && r.retrieve === 'C-MOVE') throw new AppError('BAD_REQUEST', `${r.name} retrieves by C-MOVE, into a running receiver: use the app, or run "cxr receive" and retrieve from the app; from the command line use C-GET.`);
        const res = await ns.retrieve(r.id, args[1]);
        print(out, o.json, res, `Imported ${res.imported}, already here ${res.duplicates}, results left in the archive ${res.skipped}, refused ${res.refused.length}${res.refused.map((x) => `\n  ${x.code}: ${x.message}`).join('')}`);
        return res.refused.length ? 1 : 0;
      }
      case 'send': {
        const r = findRemote(ns, args[0]);
        const ids: number[] = [];
        if (o.case) {
          const items = await ns.enqueueSignedResults(Number(o.case), { userId: null, username: cliUser() }, r.id);
          ids.push(...items.map((i) => i.id));
        } else {
          if (args.length < 2) throw new AppError('BAD_REQUEST', 'cxr pacs send NAME --case ID, or cxr pacs send NAME FILE...');
          for (const f of args.slice(1)) ids.push(ns.enqueueInstance(r.id, new Uint8Array(fs.readFileSync(f)), { caseId: null, enqueuedBy: cliUser() }).item.id);
        }
        if (!o['no-wait']) {
          ns.queue.start(false);
          // Wait while any of ours is still being worked on now (a send waiting for a later retry ends the wait).
          for (;;) {
            await ns.queue.idle();
            const items = ids.map((id) => ns.repo.queueItem(id));
            const due = items.some((i) => i.state === 'sending' || (i.state === 'pending' && (i.attempts === 0 || !i.nextAttemptAt || Date.parse(i.nextAttemptAt) <= Date.now())));
            if (!due) break;
            await new Promise((res) => setTimeout(res, 100));
          }
        }
        const items = ids.map((id) => publicQueueItem(ns.repo.queueItem(id)));
        if (o.json) items.forEach((i) => out.log(JSON.stringify(i)));
        else for (const i of items) out.log(`#${i.id} ${i.kind.padEnd(5)} ${i.state.padEnd(8)} ${i.sopInstanceUid}${i.lastError ? `  (${i.lastError}${i.nextAttemptAt ? `; next attempt ${i.nextAttemptAt}` : ''})` : ''}`);
        return items.every((i) => i.state === 'sent' || (o['no-wait'] && i.state === 'pending')) ? 0 : 1;
      }
      case 'queue': {
        const view = ns.queueView({ state: o.state as 'pending' | undefined, limit: 500 });
        if (o.json) out.log(JSON.stringify(view));
        else {
          out.log(`pending ${view.counts.pending}, sending ${view.counts.sending}, sent ${view.counts.sent}, failed ${view.counts.failed}`);
          for (const i of view.items) out.log(`#${i.id} ${i.remoteName.padEnd(20)} ${i.kind.padEnd(5)} ${i.state.padEnd(8)} attempts ${i.attempts}${i.lastError ? `  ${i.lastError}` : ''}${i.nextAttemptAt ? `  next ${i.nextAttemptAt}` : ''}`);
        }
        return 0;
      }
      case 'retry': {
        const item = ns.retry(Number(args[0]));
        ns.queue.start(false);
        await ns.queue.idle();
        const now = publicQueueItem(ns.repo.queueItem(item.id));
        print(out, o.json, now, `#${now.id} ${now.state}${now.lastError ? `: ${now.lastError}` : ''}`);
        return now.state === 'sent' ? 0 : 1;
      }
      default:
        out.err(`cxr pacs: unknown command ${sub}\n\n${PACS_USAGE}`);
        return 2;
    }
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(o.json ? JSON.stringify({ error: info }) : `cxr pacs: ${info.code}: ${info.message}`);
    return 1;
  } finally {
    await ws.close();
  }
}
