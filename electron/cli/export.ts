// `cxr export CASE --format pdf|sr|seg|pdf-dicom|json --out FILE [--image ID] [--db FILE] [--json]`: one export of
// a case written to a file (atomically: a temporary file renamed into place), recorded in the audit log under the
// operating-system user who ran it.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CaseStore } from '../core/store/index';
import { EXPORT_FORMATS, exportCaseToFile, isExportFormat } from '../core/exports/index';
import { toErrorInfo } from '../core/errors';
import { APP_VERSION } from '../core/api/index';
import { openCliStore } from './store';
import type { Out } from './out';

const USAGE = `Usage: cxr export CASE --format ${EXPORT_FORMATS.join('|')} --out FILE [--image ID] [--db FILE] [--json]
  pdf        the report: patient and study, the key image with its findings, the report text, the signature
  sr         DICOM Comprehensive SR (TID 1500): the AI score, each finding with its region, provenance
  seg        DICOM Segmentation (binary): the lung and lesion masks
  pdf-dicom  the PDF report encapsulated in DICOM, for a PACS
  json       the whole case as one JSON document
  CASE is the case number the worklist shows (cxr cases); --image picks the image (default: the highest TB score).`;

function cliActor(): { userId: null; username: string } {
  let name = 'unknown';
  try {
    name = os.userInfo().username || name;
  } catch {
    // no user database entry: keep the generic name
  }
  return { userId: null, username: `cli:${name}` };
}

export async function runExport(argv: string[], out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { format: { type: 'string' }, out: { type: 'string' }, image: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    });
  } catch (e) {
    out.err(`cxr export: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const o = parsed.values;
  if (o.help) {
    out.log(USAGE);
    return 0;
  }
  const json = o.json ?? false;
  const usage = (why: string) => {
    out.err(json ? JSON.stringify({ error: { code: 'BAD_REQUEST', message: why } }) : `cxr export: ${why}\n${USAGE}`);
    return 2;
  };
  if (parsed.positionals.length !== 1 || !/^\d+$/.test(parsed.positionals[0])) return usage('give one case number');
  if (!isExportFormat(o.format)) return usage(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  if (!o.out) return usage('--out FILE is required');
  if (o.image !== undefined && !/^\d+$/.test(o.image)) return usage('--image must be an image number');
  const caseId = Number(parsed.positionals[0]);

  let store: CaseStore | null = null;
  try {
    store = openCliStore(o.db);
    const r = await exportCaseToFile(store, caseId, o.format, path.resolve(o.out), cliActor(), {
      imageId: o.image === undefined ? undefined : Number(o.image),
      station: { softwareVersion: APP_VERSION },
    });
    if (json) out.log(JSON.stringify({ caseId, format: r.format, file: r.file, bytes: r.bytes.byteLength, mediaType: r.mediaType, notes: r.notes }));
    else {
      out.log(`${r.file}: ${r.format}, ${r.bytes.byteLength} bytes`);
      for (const n of r.notes) out.err(`note: ${n}`);
    }
    return 0;
  } catch (e) {
    const info = toErrorInfo(e);
    out.err(json ? JSON.stringify({ error: info }) : `cxr export: ${info.code}: ${info.message}`);
    return 1;
  } finally {
    store?.close();
  }
}
