// Turning what the user picked or dropped into a flat list of files to import. Folders are walked recursively.
// Nothing is judged here except an empty size (the server decides what is an image); hidden entries inside dropped
// or picked folders (".DS_Store", ".git") are skipped, as the command-line importer does.

export interface Candidate {
  file: File;
  /** path shown to the user and sent as the file name: relative to the dropped/picked folder, or the bare name */
  path: string;
}

function isHiddenPath(rel: string): boolean {
  return rel.split('/').some((part) => part.startsWith('.') && part !== '.' && part !== '..');
}

/** Files from `<input type=file multiple>` or `<input webkitdirectory>`. */
export function fromFileList(list: FileList | null): Candidate[] {
  if (!list) return [];
  const out: Candidate[] = [];
  for (const file of Array.from(list)) {
    const rel = file.webkitRelativePath || file.name;
    if (file.webkitRelativePath && isHiddenPath(rel)) continue;
    out.push({ file, path: rel });
  }
  return sortCandidates(out);
}

function sortCandidates(list: Candidate[]): Candidate[] {
  return list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** readEntries returns the children in batches (100 at a time in Chromium); call it until it returns none. */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const out: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

async function walkEntry(entry: FileSystemEntry, out: Candidate[], errors: string[]): Promise<void> {
  const rel = entry.fullPath.replace(/^\/+/, '') || entry.name;
  if (entry.isFile) {
    try {
      out.push({ file: await fileOf(entry as FileSystemFileEntry), path: rel });
    } catch (e) {
      errors.push(`${rel}: ${(e as Error).message ?? e}`);
    }
  } else if (entry.isDirectory) {
    let children: FileSystemEntry[];
    try {
      children = await readAll(entry as FileSystemDirectoryEntry);
    } catch (e) {
      errors.push(`${rel}: ${(e as Error).message ?? e}`);
      return;
    }
    for (const child of children) {
      if (child.name.startsWith('.')) continue;
      await walkEntry(child, out, errors);
    }
  }
}

/**
 * Files and folders dropped on the window. The entries must be taken from the DataTransfer synchronously, during
 * the drop event; the walk itself is asynchronous. Falls back to `dataTransfer.files` where entries are missing.
 */
export function fromDrop(dt: DataTransfer): Promise<{ files: Candidate[]; errors: string[] }> {
  const entries: FileSystemEntry[] = [];
  const loose: File[] = [];
  const items = dt.items ? Array.from(dt.items) : [];
  for (const item of items) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  if (items.length === 0) loose.push(...Array.from(dt.files ?? []));
  return (async () => {
    const files: Candidate[] = loose.map((file) => ({ file, path: file.name }));
    const errors: string[] = [];
    for (const entry of entries) await walkEntry(entry, files, errors);
    return { files: sortCandidates(files), errors };
  })();
}

/** True while a drag carries files (not text or a link). */
export function dragHasFiles(dt: DataTransfer | null): boolean {
  return !!dt && Array.from(dt.types ?? []).includes('Files');
}
