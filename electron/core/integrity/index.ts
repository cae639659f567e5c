// The integrity check of a case store (`cxr store check`): everything the store promises about itself, verified
// end to end without changing anything. SQLite's own check of its pages and indexes, the foreign keys, the schema
// version, every image file the database refers to (present, authentic under the store's key, and hashing to the
// hash its row names), the audit log's hash chain, and every signature's snapshot against its signed hash.
import { AppError } from '../errors';
import { verifyAudit, sha256Hex } from '../accounts/audit';
import { CaseStore, sha256 } from '../store/index';

export type CheckArea = 'sqlite' | 'foreign_keys' | 'schema' | 'images' | 'audit' | 'signatures';

export interface StoreProblem {
  area: CheckArea;
  message: string;
}

export interface StoreCheckReport {
  ok: boolean;
  /** what was looked at, so that "ok" says how much it covers */
  checked: { images: number; blobs: number; auditEntries: number; signatures: number; schemaVersion: number };
  /** the audit chain's newest hash, to note elsewhere (a shortened chain is valid but has another head) */
  auditHeadSha256: string | null;
  problems: StoreProblem[];
}

/** At most this many problems of one area are listed; the rest are counted in one line. */
const LIST_LIMIT = 50;

interface ImageRow {
  id: number;
  rows: number;
  columns: number;
  pixel_sha256: string;
  pixel_offset: number | null;
  source_sha256: string;
  source_name: string;
}

/** Check the whole store; never throws for what it finds (each finding is a problem in the report). */
export function checkStore(store: CaseStore, opts: { onProgress?: (done: number, total: number) => void } = {}): StoreCheckReport {
  const db = store.db;
  const problems: StoreProblem[] = [];
  const counts = new Map<CheckArea, number>();
  const problem = (area: CheckArea, message: string) => {
    const n = (counts.get(area) ?? 0) + 1;
    counts.set(area, n);
    if (n <= LIST_LIMIT) problems.push({ area, message });
  };

  // Each area is checked on its own: a store damaged in one place still gets the other checks.
  const guarded = (area: CheckArea, run: () => void) => {
    try {
      run();
    } catch (e) {
      problem(area, `The check could not finish: ${describe(e)}`);
    }
  };
  guarded('sqlite', () => {
    const integrity = db.pragma('integrity_check') as { integrity_check: string }[];
    for (const r of integrity) if (r.integrity_check !== 'ok') problem('sqlite', `SQLite integrity check: ${r.integrity_check}`);
  });
  guarded('foreign_keys', () => {
    const fk = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
    for (const r of fk) problem('foreign_keys', `${r.table} row ${r.rowid} refers to a missing ${r.parent} row.`);
  });
  const schemaVersion = store.schemaVersion();
  if (schemaVersion !== CaseStore.latestSchemaVersion()) problem('schema', `The database is at schema ${schemaVersion}; this app writes ${CaseStore.latestSchemaVersion()}.`);

  // Each image: its original (authentic, and hashing to source_sha256) and its pixels (the pixels file, or the
  // bytes inside the original), of the size its rows and columns need and hashing to pixel_sha256.
  let images: ImageRow[] = [];
  guarded('images', () => {
    images = db.prepare('SELECT id, rows, columns, pixel_sha256, pixel_offset, source_sha256, source_name FROM images ORDER BY id').all() as ImageRow[];
  });
  const blobs = new Set<string>();
  images.forEach((im, i) => {
    opts.onProgress?.(i, images.length);
    const label = `image ${im.id} (${im.source_name})`;
    let original: Buffer | null = null;
    try {
      original = store.readBlob('originals', im.source_sha256);
      blobs.add(`originals:${im.source_sha256}`);
      if (sha256(original) !== im.source_sha256) problem('images', `${label}: the stored original does not match its hash.`);
    } catch (e) {
      problem('images', `${label}: ${describe(e)}`);
    }
    const length = im.rows * im.columns * 2;
    try {
      let pixels: Uint8Array;
      if (im.pixel_offset === null) {
        pixels = store.readBlob('pixels', im.pixel_sha256);
        blobs.add(`pixels:${im.pixel_sha256}`);
      } else {
        if (!original) return; // already reported: the pixels live inside the original
        if (im.pixel_offset + length > original.byteLength) {
          problem('images', `${label}: the original is shorter than the pixel data it should hold.`);
          return;
        }
        pixels = original.subarray(im.pixel_offset, im.pixel_offset + length);
      }
      if (pixels.byteLength !== length) problem('images', `${label}: the pixels are ${pixels.byteLength} bytes; ${im.columns} x ${im.rows} needs ${length}.`);
      else if (sha256(pixels) !== im.pixel_sha256) problem('images', `${label}: the pixels do not match their hash.`);
    } catch (e) {
      problem('images', `${label}: ${describe(e)}`);
    }
  });
  opts.onProgress?.(images.length, images.length);

  let audit: ReturnType<typeof verifyAudit> | null = null;
  guarded('audit', () => {
    audit = verifyAudit(db);
    if (!audit.ok) problem('audit', `Audit log: ${audit.reason} (entry ${audit.brokenAt}).`);
  });

  let signatureCount = 0;
  guarded('signatures', () => {
    const signatures = db.prepare('SELECT id, case_ref, content_json, content_sha256 FROM signatures ORDER BY id').all() as { id: number; case_ref: number; content_json: string; content_sha256: string }[];
    signatureCount = signatures.length;
    for (const s of signatures) {
      if (sha256Hex(s.content_json) !== s.content_sha256) problem('signatures', `Signature ${s.id} of case ${s.case_ref}: the stored snapshot no longer matches the signed hash.`);
    }
  });

  for (const [area, n] of counts) if (n > LIST_LIMIT) problems.push({ area, message: `… and ${n - LIST_LIMIT} more problems of this kind.` });
  const chain = audit as ReturnType<typeof verifyAudit> | null;
  return {
    ok: counts.size === 0,
    checked: { images: images.length, blobs: blobs.size, auditEntries: chain?.entries ?? 0, signatures: signatureCount, schemaVersion },
    auditHeadSha256: chain?.ok ? chain.headSha256 : null,
    problems,
  };
}

function describe(e: unknown): string {
  if (e instanceof AppError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
