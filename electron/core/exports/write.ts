// Writing an export to a file the way the store writes blobs: to a temporary name in the same folder, flushed, then
// renamed over the target, so that a full disk, a missing folder or a crash leaves the old file (or none), never
// half of a new one.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';

export function writeFileAtomic(target: string, bytes: Uint8Array): void {
  const file = path.resolve(target);
  const dir = path.dirname(file);
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(file);
  } catch {
    st = null;
  }
  if (st?.isDirectory()) throw new AppError('EXPORT_WRITE_FAILED', `${file} is a folder; give a file name to write the export to.`);
  let dirOk = false;
  try {
    dirOk = fs.statSync(dir).isDirectory();
  } catch {
    dirOk = false;
  }
  if (!dirOk) throw new AppError('EXPORT_WRITE_FAILED', `Cannot write ${file}: the folder ${dir} does not exist. Nothing was written.`);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.part`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx');
    let at = 0;
    while (at < bytes.byteLength) at += fs.writeSync(fd, bytes, at, bytes.byteLength - at);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing was created there
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new AppError('DISK_FULL', `The disk is full: ${file} was not written (nothing was left behind). Free some space and try again.`, { cause: e });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new AppError('EXPORT_WRITE_FAILED', `Cannot write ${file}: permission denied (${code}). Nothing was written.`, { cause: e });
    throw new AppError('EXPORT_WRITE_FAILED', `Cannot write ${file}: ${(e as Error).message}. Nothing was written.`, { cause: e });
  }
}
