// The `cxr` command line: the same core services as the app, for scripting, batch work and tests.
import { parseArgs } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Workstation } from '../core/api/index';
import { importPaths } from '../core/importing/index';
import { defaultDbLocation, describeDefaultDbPath, type DbLocation } from '../core/paths';
import { defaultPackDir } from '../core/inference/index';
import { toErrorInfo } from '../core/errors';
import { WorklistSortKey, CaseStatus } from '../contract/index';
import { commands } from './commands';
import { cliKeyAccess } from './store';
import { stdio, type Out } from './out';

const USAGE = `Usage: cxr <command> [options]

Commands:
  import PATH...   import DICOM, PNG and JPEG files; folders are walked recursively
  cases            list the cases on the worklist
  serve            run the local web mode (the UI and API on 127.0.0.1 with a per-run token)
${Object.values(commands).map((c) => `  ${c.usage}`).join('\n')}

Options:
  --db FILE        the case database (default: CXR_DB if set, else the app's own; now ${describeDefaultDbPath(process.platform, process.env)})
  --json           one JSON object per line
  --sort KEY       cases: ${WorklistSortKey.options.join('|')} (default importedAt)
  --asc            cases: ascending order
  --filter TEXT    cases: patient name / ID / accession contains TEXT
  --status STATUS  cases: ${CaseStatus.options.join('|')}
  --limit N        cases: at most N rows (default 1000)
  --port N         serve: port on 127.0.0.1 (default: a free one)
  --model DIR      serve: the model pack that reads imported images (default: the bundled one)
  --no-model       serve: do not analyse images
  --help           this text
`;


export async function main(argv: string[], out: Out = stdio): Promise<number> {
  // Commands with options of their own (see ./commands.ts).
  const entry = argv[0] !== undefined && Object.prototype.hasOwnProperty.call(commands, argv[0]) ? commands[argv[0]] : undefined;
  if (entry) return (await entry.load()).run(argv.slice(1), out);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
        sort: { type: 'string' },
        asc: { type: 'boolean', default: false },
        filter: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string' },
        port: { type: 'string' },
        model: { type: 'string' },
        'no-model': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    out.err(`cxr: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const [command, ...args] = positionals;
  if (o.help || !command) {
    out.log(USAGE);
    return command || o.help ? 0 : 2;
  }
  let location: DbLocation;
  try {
    location = o.db ? { dbPath: path.resolve(o.db), source: 'argument' } : defaultDbLocation(process.platform, process.env);
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(o.json ? JSON.stringify({ error: info }) : `cxr: ${info.code}: ${info.message}`);
    return 1;
  }
  const dbPath = location.dbPath;

  let ws: Workstation;
  try {
    const modelDir = command === 'serve' && !o['no-model'] ? path.resolve(o.model ?? defaultPackDir()) : undefined;
    ws = new Workstation({ dbPath, dbSource: location.source, transport: 'http', modelDir, key: cliKeyAccess(), network: command === 'serve' });
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(o.json ? JSON.stringify({ error: info }) : `cxr: ${info.code}: ${info.message}`);
    return 1;
  }
  try {
    switch (command) {
      case 'import':
        return await runImport(ws, args, o.json ?? false, out);
      case 'cases':
        return runCases(ws, o, out);
      case 'serve':
        return await runServe(ws, o.port ? Number(o.port) : 0, out);
      default:
        out.err(`cxr: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } finally {
    if (command !== 'serve') await ws.close();
  }
}

async function runImport(ws: Workstation, inputs: string[], json: boolean, out: Out): Promise<number> {
  if (inputs.length === 0) {
    out.err('cxr import: name at least one file or folder');
    return 2;
  }
  let failed = 0;
  let imported = 0;
  let duplicates = 0;
  let skipped = 0;
  for await (const r of importPaths(ws.store, inputs)) {
    if (!r.ok && 'skipped' in r) {
      skipped++;
      out.log(json ? JSON.stringify({ file: r.file, status: 'skipped', reason: r.error }) : `skipped   ${r.file}: ${r.error.code}: ${r.error.message}`);
    } else if (r.ok) {
      if (r.outcome.status === 'imported') imported++;
      else duplicates++;
      const note = r.outcome.status === 'duplicate' ? ` (${r.outcome.reason})` : r.outcome.followsCaseId ? ` (a follow-up: case ${r.outcome.followsCaseId} of this study is signed)` : '';
      out.log(json ? JSON.stringify({ file: r.file, ...r.outcome }) : `${r.outcome.status.padEnd(9)} ${r.file} -> case ${r.outcome.caseId}, image ${r.outcome.imageId}${note}`);
    } else {
      failed++;
      out.log(json ? JSON.stringify({ file: r.file, status: 'error', error: r.error }) : `failed    ${r.file}: ${r.error.code}: ${r.error.message}`);
    }
  }
  if (!json) out.err(`${imported} imported, ${duplicates} duplicate, ${failed} failed, ${skipped} skipped`);
  return failed > 0 ? 1 : 0;
}

function runCases(ws: Workstation, o: { json?: boolean; sort?: string; asc?: boolean; filter?: string; status?: string; limit?: string }, out: Out): number {
  const sortKey = WorklistSortKey.safeParse(o.sort ?? 'importedAt');
  const status = o.status === undefined ? undefined : CaseStatus.safeParse(o.status);
  if (!sortKey.success || (status && !status.success)) {
    out.err(`cxr cases: bad --sort or --status\n\n${USAGE}`);
    return 2;
  }
  const limit = Math.min(Math.max(Number(o.limit ?? 1000) || 1000, 1), 1000);
  const page = ws.store.findCasesForWorklist({
    sort: { key: sortKey.data, dir: o.asc ? 'asc' : 'desc' },
    filter: { text: o.filter, status: status?.data },
    offset: 0,
    limit,
  });
  for (const r of page.rows) {
    out.log(
      o.json
        ? JSON.stringify(r)
        : [String(r.caseId).padStart(6), (r.patientName || '(no name)').padEnd(24), r.patientId.padEnd(20), (r.studyDate ?? '—').padEnd(10), `${r.modality ?? '—'}/${r.view ?? '—'}`.padEnd(10), r.status.padEnd(9), r.aiScore === null ? '—' : r.aiScore.toFixed(0)].join(' '),
    );
  }
  if (!o.json) out.err(`${page.rows.length} of ${page.total} cases`);
  return 0;
}

async function runServe(ws: Workstation, port: number, out: Out): Promise<number> {
  const { startServer } = await import('../server/index');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const staticDir = process.env.CXR_RENDERER_OUT ? path.resolve(process.env.CXR_RENDERER_OUT) : path.resolve(here, '../../dist/renderer');
  if (!fs.existsSync(path.join(staticDir, 'index.html'))) {
    out.err('cxr serve: the user interface is not built; run `npm run serve` (it builds it) or `npm run build:renderer` first.');
    await ws.close();
    return 1;
  }
  const server = await startServer({ workstation: ws, staticDir, port });
  out.log(JSON.stringify({ url: server.url, port: server.port, db: ws.store.dbPath }));
  void ws.analysisReady.then(() => {
    const s = ws.analysisProgress();
    if (s.model) out.err(`model ${s.model.name} ${s.model.version} on ${s.model.ep}`);
    else if (s.modelError) out.err(`images will not be analysed: ${s.modelError.code}: ${s.modelError.message}`);
  });
  out.err(`CXR Workstation web mode: open ${server.url}\n(listening on 127.0.0.1 only; the token in the address is required; Ctrl+C stops)`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await ws.close();
  return 0;
}
