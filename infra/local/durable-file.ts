import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` and its missing parents, fsyncing each parent whose entries changed. */
export async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  let current = dir;
  while (current.length >= created.length) {
    await fsyncDir(dirname(current));
    current = dirname(current);
  }
}

/**
 * Writes `content` to a new temp file in `stagingDir` and fsyncs it; resolves with its path. The caller renames it
 * into place (same file system: atomic) with `renameDurably`. Temp names end in `.tmp`, never the raw suffix.
 */
export async function writeTempDurably(
  stagingDir: string,
  stem: string,
  content: Uint8Array,
): Promise<string> {
  await ensureDir(stagingDir);
  const temp = join(stagingDir, `${stem}.${randomUUID()}.tmp`);
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
  return temp;
}

/** Renames `from` to `to` (creating `to`'s directories) and fsyncs the target directory: durable once resolved. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await ensureDir(dirname(to));
  await rename(from, to);
  await fsyncDir(dirname(to));
}

/** Cuts `path` after its last `\n` (a torn last line of a crash); returns the new size. */
export async function cutAfterLastNewline(path: string): Promise<number> {
  const { size } = await stat(path);
  const handle = await open(path, 'r');
  const chunk = Buffer.alloc(64 * 1024);
  let keep = 0;
  try {
    for (let end = size; end > 0 && keep === 0; ) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (at >= 0) keep = start + at + 1;
      end = start;
    }
  } finally {
    await handle.close();
  }
  if (keep < size) await truncate(path, keep);
  return keep;
}
