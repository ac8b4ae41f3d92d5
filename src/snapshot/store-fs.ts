// Crash-safe file replacement for the snapshot store: write a temp file in the same directory,
// fsync it, rename it over the final name, fsync the directory. A crash leaves either the old
// file or the new one, plus at worst a temp file that the store removes when it opens.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Temp files: hidden, and ending in .tmp, so no reader ever mistakes one for a real file. */
export const TEMP_FILE_RE = /^\..+\.tmp$/;

function tempName(finalName: string): string {
  return `.${finalName}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Flushes a directory entry change (rename, unlink) to disk. No-op where directories cannot be opened. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    if (isCode(err, 'EISDIR', 'EPERM', 'EACCES')) return; // Windows cannot open a directory
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!isCode(err, 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP')) throw err;
  } finally {
    await handle.close();
  }
}

/** Replaces `dir/name` with `data`, atomically and durably. */
export async function writeFileAtomic(dir: string, name: string, data: string | Uint8Array): Promise<void> {
  const tmp = path.join(dir, tempName(name));
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path.join(dir, name));
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

export function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}
