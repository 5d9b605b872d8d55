import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` and its missing parents, fsyncing each parent whose entries changed. */
async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  let current = dir;
  while (current.length >= created.length) {
    await fsyncDir(dirname(current));
    current = dirname(current);
  }
}

/**
 * Writes `content` to `path` so that it survives a crash once this resolves: write a temp file beside it,
 * fsync it, rename it over `path` (atomic: readers see the whole file or nothing), fsync the directory.
 * The temp name starts with `.` and does not end in the raw suffix, so no reader mistakes it for an object.
 */
export async function writeFileDurably(path: string, content: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await ensureDir(dir);
  const temp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, path);
  await fsyncDir(dir);
}
