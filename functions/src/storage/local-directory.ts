import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LoaderError } from '../errors.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';

/**
 * Local "buckets": bucket `b` is the directory `<bucketsDir>/b`, object `raw/2024-01-01/x.ndjson` is the file
 * `<bucketsDir>/b/raw/2024-01-01/x.ndjson`.
 *
 * Generation: local files have no version history, so `stat`/`list` report the file's modification time in
 * nanoseconds (`fs.stat(..., { bigint: true }).mtimeNs`, a decimal string) — it changes when a writer replaces the
 * file (write + rename). `read` does NOT enforce a generation: it always reads the current file; the generation
 * given by the CloudEvent is used only as part of the idempotency key. Writers (the stand-in, the spool transport)
 * may therefore send any stable generation, e.g. that mtime-ns or `1`.
 */
export function localDirectoryStore(bucketsDir: string): ObjectStore {
  const fileOf = (bucket: string, name: string): string => {
    const root = path.resolve(bucketsDir, bucket);
    const file = path.resolve(root, name);
    if (!file.startsWith(root + path.sep)) {
      throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_NOT_FOUND', `object name escapes the bucket: ${name}`);
    }
    return file;
  };

  const info = async (bucket: string, name: string): Promise<ObjectInfo | undefined> => {
    try {
      const s = await stat(fileOf(bucket, name), { bigint: true });
      if (!s.isFile()) return undefined;
      return {
        bucket,
        name,
        generation: String(s.mtimeNs),
        size: Number(s.size),
        updated: new Date(Number(s.mtimeMs)),
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `${bucket}/${name}`, { cause: error });
    }
  };

  return {
    async read(bucket, name): Promise<Readable> {
      const file = fileOf(bucket, name);
      const found = await info(bucket, name);
      if (!found) throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_NOT_FOUND', `${bucket}/${name}`);
      return createReadStream(file, { highWaterMark: 256 * 1024 });
    },
    stat: info,
    async *list(bucket, prefix): AsyncIterable<ObjectInfo> {
      const root = path.resolve(bucketsDir, bucket);
      let entries: string[];
      try {
        entries = await readdir(root, { recursive: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `list ${bucket}`, { cause: error });
      }
      const names = entries
        .map((e) => e.split(path.sep).join('/'))
        .filter((n) => n.startsWith(prefix))
        .sort();
      for (const name of names) {
        const found = await info(bucket, name);
        if (found) yield found;
      }
    },
  };
}
