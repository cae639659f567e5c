// Import of image files into the case store: size checks, decoding, duplicate detection, and an atomic write
// per file (blobs first, then one database transaction), so that a bad file or a crash never leaves half a case.
import fs from 'node:fs';
import path from 'node:path';
import { AppError, toErrorInfo } from '../errors';
import { decodeImage } from '../imaging/index';
import type { DecodedImage } from '../imaging/types';
import { sha256, type CaseStore, type NewImageRecord } from '../store/index';
import { MAX_IMPORT_BYTES, type ImportOutcome } from '../../contract/index';

export { MAX_IMPORT_BYTES };

/** A DICOM UID under the 2.25 root (ITU-T X.667) made from 128 bits of a hash, so re-importing is recognised. */
export function uidFromHash(hexHash: string, salt = ''): string {
  const h = salt ? sha256(new TextEncoder().encode(`${salt}:${hexHash}`)) : hexHash;
  return `2.25.${BigInt(`0x${h.slice(0, 32)}`).toString(10)}`;
}

export function checkSize(byteLength: number, name: string): void {
  if (byteLength === 0) throw new AppError('EMPTY_FILE', `${name} is empty (0 bytes).`);
  if (byteLength > MAX_IMPORT_BYTES) {
    throw new AppError('FILE_TOO_LARGE', `${name} is ${(byteLength / 2 ** 20).toFixed(0)} MB; the limit is ${MAX_IMPORT_BYTES / 2 ** 20} MB.`);
  }
}

export function buildRecord(img: DecodedImage, name: string, sourceSha: string, pixelSha: string): NewImageRecord {
  const d = img.dicom;
  const sopInstanceUid = d?.sopInstanceUid || uidFromHash(sourceSha, 'sop');
  const studyInstanceUid = d?.studyInstanceUid || uidFromHash(sourceSha, 'study');
  const seriesInstanceUid = d?.seriesInstanceUid || uidFromHash(sourceSha, 'series');
  const base = path.basename(name);
  return {
    patient: {
      patientId: d?.patientId || `ANON-${sourceSha.slice(0, 10).toUpperCase()}`,
      patientName: d?.patientName ?? '',
      birthDate: d?.patientBirthDate ?? null,
      sex: d?.patientSex ?? null,
    },
    study: {
      studyInstanceUid,
      studyDate: d?.studyDate ?? null,
      studyTime: d?.studyTime ?? null,
      accessionNumber: d?.accessionNumber ?? null,
      description: d?.studyDescription || (d ? null : base),
    },
    series: {
      seriesInstanceUid,
      modality: d?.modality ?? null,
      bodyPart: d?.bodyPartExamined ?? null,
      viewPosition: d?.viewPosition ?? null,
      seriesNumber: d?.seriesNumber ?? null,
      description: d?.seriesDescription ?? null,
    },
    image: {
      sopInstanceUid,
      sopClassUid: d?.sopClassUid ?? null,
      rows: img.rows,
      columns: img.columns,
      bitsStored: img.bitsStored,
      photometric: img.photometric,
      rescaleSlope: img.rescaleSlope,
      rescaleIntercept: img.rescaleIntercept,
      pixelSpacing: img.pixelSpacing,
      minPixel: img.minPixel,
      maxPixel: img.maxPixel,
      windows: img.windows,
      pixelSha256: pixelSha,
      sourceName: base,
      sourceSha256: sourceSha,
      sourceFormat: img.format,
      transferSyntax: img.transferSyntax,
    },
  };
}

function pixelBytes(pixels: Uint16Array): Uint8Array {
  // Stored little-endian; every platform we ship on (x64, arm64) is little-endian, so the view is the file.
  return new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
}

/** The offset of `pixels` in the original `bytes` if they are there byte for byte (checked), else null. */
export function pixelsInOriginal(bytes: Uint8Array, offset: number | null | undefined, pixels: Uint8Array): number | null {
  if (offset == null || offset < 0 || offset + pixels.byteLength > bytes.byteLength) return null;
  // The decoder hands back a view of the file where the stored values needed no change: the same bytes, no compare.
  if (pixels.buffer === bytes.buffer && pixels.byteOffset === bytes.byteOffset + offset) return offset;
  return Buffer.compare(bytes.subarray(offset, offset + pixels.byteLength), pixels) === 0 ? offset : null;
}

/** Import one file's bytes. Resolves with the outcome, or throws an AppError saying why the file was refused. */
export async function importBytes(store: CaseStore, bytes: Uint8Array, name: string): Promise<ImportOutcome> {
  checkSize(bytes.byteLength, name);
  // The original is hashed, sealed, written and fsynced under a temporary name in the blob writer thread while this
  // thread decodes; it gets its name only once the image is accepted (a refused file or a duplicate removes it).
  // The pixels, where they are not the original's own bytes, follow the same way, and the rows are committed only
  // after both files are durable.
  const { sha256: sourceShaOf, staged: original } = store.stageNewBlob('originals', bytes);
  original.catch(() => undefined); // awaited below; a failure while the decode runs is not unhandled
  sourceShaOf.catch(() => undefined);
  let keepOriginal = false;
  try {
    const img = await decodeImage(bytes, name);
    const sourceSha = await sourceShaOf;
    const pixels = pixelBytes(img.pixels);
    const pixelSha = sha256(pixels);
    const rec = buildRecord(img, name, sourceSha, pixelSha);
    const dup = store.findDuplicate(rec.image.sopInstanceUid, pixelSha);
    if (dup) return duplicateOutcome(dup, rec);
    // Uncompressed pixels that are the file's own bytes are read from the original: written and sealed once.
    rec.image.pixelOffset = pixelsInOriginal(bytes, img.sourcePixelOffset, pixels);
    const px = rec.image.pixelOffset === null ? await store.stageBlob('pixels', pixelSha, pixels) : null;
    const staged = await original;
    await Promise.all([px?.commit(), staged.commit()]);
    keepOriginal = true;
    return commitRecord(store, rec, pixelSha);
  } finally {
    // Refused, duplicate or failed: the staged original goes (after its write settled, so nothing is left behind).
    if (!keepOriginal) await original.then((o) => o.discard(), () => undefined);
  }
}

function commitRecord(store: CaseStore, rec: NewImageRecord, pixelSha: string): ImportOutcome {
  try {
    const { caseId, imageId, followsCaseId } = store.insertImage(rec);
    return { status: 'imported', caseId, imageId, sopInstanceUid: rec.image.sopInstanceUid, ...(followsCaseId !== null ? { followsCaseId } : {}) };
  } catch (e) {
    // Another import of the same image may have committed between our check and our insert.
    const again = store.findDuplicate(rec.image.sopInstanceUid, pixelSha);
    if (again) return duplicateOutcome(again, rec);
    throw e;
  }
}

function duplicateOutcome(dup: { imageId: number; caseId: number; sourceName: string; by: 'sopInstanceUid' | 'pixels' }, rec: NewImageRecord): ImportOutcome {
  const reason =
    dup.by === 'sopInstanceUid'
      ? `already imported: image ${dup.imageId} (from ${dup.sourceName}) has the same SOP Instance UID ${rec.image.sopInstanceUid}`
      : `already imported: image ${dup.imageId} (from ${dup.sourceName}) has identical pixel data`;
  return { status: 'duplicate', caseId: dup.caseId, imageId: dup.imageId, reason };
}

/** Import a file from disk (the CLI and Electron's file dialog path). */
export async function importFile(store: CaseStore, file: string): Promise<ImportOutcome> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new AppError('FILE_UNREADABLE', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  checkSize(st.size, file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new AppError('FILE_UNREADABLE', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return importBytes(store, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}

/** An entry a batch did not import, and why (reported beside the imported and failed files). */
export interface SkippedEntry {
  path: string;
  code: 'HIDDEN' | 'SAME_FILE' | 'LINK_LOOP';
  message: string;
}

/** An entry that should have been a file to import and cannot be read as one. */
export interface UnreadableEntry {
  path: string;
  code: 'FILE_UNREADABLE' | 'LINK_BROKEN' | 'NOT_A_FILE';
  message: string;
}

/**
 * Files named by `inputs`, with folders walked recursively in sorted order. Symbolic links are followed, to files and
 * to folders (a clinic may keep a folder of links to images on another disk), safely: each folder is entered once,
 * known by its device and inode, so a link back to a folder being walked is a loop that is reported and not
 * followed; a file reached twice (through a link and directly) is listed once. Hidden entries are skipped, broken
 * links and entries that are not regular files (sockets, pipes, devices: reading a pipe would wait forever) are
 * unreadable; each is reported with its reason, never dropped silently.
 */
export function expandPaths(inputs: string[]): { files: string[]; missing: string[]; skipped: SkippedEntry[]; unreadable: UnreadableEntry[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const skipped: SkippedEntry[] = [];
  const unreadable: UnreadableEntry[] = [];
  const seenDirs = new Map<string, string>();
  const seenFiles = new Map<string, string>();
  const idOf = (st: fs.Stats) => `${st.dev}:${st.ino}`;
  // An explicit stack (deep trees cannot overflow the call stack); children pushed in reverse to pop in order.
  const stack: { p: string; top: boolean }[] = inputs.map((p) => ({ p, top: true })).reverse();
  while (stack.length > 0) {
    const { p, top } = stack.pop()!;
    let link: fs.Stats;
    try {
      link = fs.lstatSync(p);
    } catch (e) {
      if (top && (e as NodeJS.ErrnoException).code === 'ENOENT') missing.push(p);
      else unreadable.push({ path: p, code: 'FILE_UNREADABLE', message: `${p} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).` });
      continue;
    }
    let st = link;
    if (link.isSymbolicLink()) {
      try {
        st = fs.statSync(p);
      } catch (e) {
        let target = '?';
        try {
          target = fs.readlinkSync(p);
        } catch {
          /* the link itself vanished: keep '?' */
        }
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'ELOOP' ? 'a chain of links that never ends' : code === 'ENOENT' ? 'which does not exist' : `which cannot be read (${code ?? (e as Error).message})`;
        unreadable.push({ path: p, code: 'LINK_BROKEN', message: `${p} is a link to ${target}, ${why}.` });
        continue;
      }
    }
    if (st.isDirectory()) {
      const id = idOf(st);
      const first = seenDirs.get(id);
      if (first !== undefined) {
        skipped.push({ path: p, code: 'LINK_LOOP', message: `${p} leads to the folder ${first}, which this import already walks (a link loop or a second link to it); it is not walked again.` });
        continue;
      }
      seenDirs.set(id, p);
      let names: string[];
      try {
        names = fs.readdirSync(p).sort();
      } catch (e) {
        unreadable.push({ path: p, code: 'FILE_UNREADABLE', message: `The folder ${p} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).` });
        continue;
      }
      for (let i = names.length - 1; i >= 0; i--) {
        const child = path.join(p, names[i]);
        if (names[i].startsWith('.')) skipped.push({ path: child, code: 'HIDDEN', message: `${child} is hidden (its name starts with a dot) and is not imported.` });
        else stack.push({ p: child, top: false });
      }
      continue;
    }
    if (!st.isFile()) {
      unreadable.push({ path: p, code: 'NOT_A_FILE', message: `${p} is not a regular file (a socket, pipe or device) and is not read.` });
      continue;
    }
    const id = idOf(st);
    const first = seenFiles.get(id);
    if (first !== undefined) {
      skipped.push({ path: p, code: 'SAME_FILE', message: `${p} is the same file as ${first} (through a link); it is imported once.` });
      continue;
    }
    seenFiles.set(id, p);
    files.push(p);
  }
  return { files, missing, skipped, unreadable };
}

export type BatchItemResult = { file: string } & (
  | { ok: true; outcome: ImportOutcome }
  | { ok: false; error: { code: string; message: string } }
  /** not imported on purpose (hidden, the same file twice, a link loop): nothing was lost */
  | { ok: false; skipped: true; error: { code: string; message: string } }
);

/** Import many paths one file at a time; a failure is reported and the batch goes on. Stops early on `signal`. */
export async function* importPaths(store: CaseStore, inputs: string[], signal?: AbortSignal): AsyncGenerator<BatchItemResult> {
  const { files, missing, skipped, unreadable } = expandPaths(inputs);
  for (const m of missing) yield { file: m, ok: false, error: { code: 'FILE_UNREADABLE', message: `${m} does not exist.` } };
  for (const u of unreadable) yield { file: u.path, ok: false, error: { code: u.code, message: u.message } };
  for (const k of skipped) yield { file: k.path, ok: false, skipped: true, error: { code: k.code, message: k.message } };
  for (const file of files) {
    if (signal?.aborted) return;
    try {
      yield { file, ok: true, outcome: await importFile(store, file) };
    } catch (e) {
      yield { file, ok: false, error: toErrorInfo(e) };
    }
  }
}
