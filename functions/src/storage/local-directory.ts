import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LoaderError } from '../errors.ts';
import { readSidecar } from './local-metadata.ts';
import { bucketNameProblem, localObjectNameProblem } from './object-name.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';

export interface LocalDirectoryOptions {
  /**
   * Default true: a bucket must be a Cloud Storage bucket name (object-name.ts). `false` only for a directory an
   * operator named on the command line (`npm run load <file>` outside the buckets directory uses bucket `.`, the
   * directory itself); object names and the containment check still apply.
   */
  checkBucketNames?: boolean;
}

/**
 * Local "buckets": bucket `b` is the directory `<bucketsDir>/b`, object `raw/2024-01-01/x.ndjson` is the file
 * `<bucketsDir>/b/raw/2024-01-01/x.ndjson`.
 *
 * Names come from CloudEvents, which anyone who reaches the loader can send, so nothing outside the bucket is ever
 * read: bucket and object names are checked against Cloud Storage's naming rules (plus what a path needs: no `.`,
 * `..` or empty segment) and rejected with SLUICE_ERR_LOAD_BAD_CLOUDEVENT (not retryable); then the file's real
 * path (symlinks resolved) must lie inside the bucket directory's real path, or the object does not exist
 * (SLUICE_ERR_LOAD_OBJECT_NOT_FOUND). A symlinked bucket directory is refused too: it resolves outside.
 *
 * Generation: local files have no version history, so `stat`/`list` report the file's modification time in
 * nanoseconds (`fs.stat(..., { bigint: true }).mtimeNs`, a decimal string) — it changes when a writer replaces the
 * file (write + rename). `read` does NOT enforce a generation: it always reads the current file; the generation
 * given by the CloudEvent is used only as part of the idempotency key. The writers (the stand-in, the spool
 * transport) send this same mtime-ns, so a redelivery after a crash carries the generation of the first delivery.
 */
export function localDirectoryStore(bucketsDir: string, options: LocalDirectoryOptions = {}): ObjectStore {
  const checkBuckets = options.checkBucketNames ?? true;
  const bucketDir = (bucket: string): string => {
    const problem = checkBuckets
      ? bucketNameProblem(bucket)
      : bucket === '.'
        ? undefined
        : segmentProblem(bucket);
    if (problem) {
      throw new LoaderError('SLUICE_ERR_LOAD_BAD_CLOUDEVENT', `bucket ${JSON.stringify(bucket)}: ${problem}`);
    }
    return path.join(bucketsDir, bucket);
  };
  const fileOf = (bucket: string, name: string): string => {
    const problem = localObjectNameProblem(name);
    if (problem) {
      throw new LoaderError('SLUICE_ERR_LOAD_BAD_CLOUDEVENT', `object ${JSON.stringify(name)}: ${problem}`);
    }
    return path.join(bucketDir(bucket), ...name.split('/'));
  };

  /** The file's real path when it lies inside the bucket's real directory; undefined when it does not exist. */
  const contained = async (bucket: string, name: string): Promise<string | undefined> => {
    const file = fileOf(bucket, name);
    let real: string;
    let root: string;
    try {
      [real, root] = await Promise.all([realpath(file), realpath(bucketsDir)]);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `${bucket}/${name}`, { cause: error });
    }
    const bucketRoot = bucket === '.' ? root : path.join(root, bucket);
    if (!real.startsWith(bucketRoot + path.sep)) {
      throw new LoaderError(
        'SLUICE_ERR_LOAD_OBJECT_NOT_FOUND',
        `${bucket}/${name} resolves outside the bucket directory (symlink)`,
      );
    }
    return real;
  };

  const info = async (
    bucket: string,
    name: string,
  ): Promise<{ file: string; info: ObjectInfo } | undefined> => {
    const file = await contained(bucket, name);
    if (!file) return undefined;
    try {
      const s = await stat(file, { bigint: true });
      if (!s.isFile()) return undefined;
      const generation = String(s.mtimeNs);
      const metadata = await readSidecar(bucketsDir, bucket, name, generation);
      return {
        file,
        info: {
          bucket,
          name,
          generation,
          size: Number(s.size),
          updated: new Date(Number(s.mtimeMs)),
          ...(metadata ? { metadata } : {}),
        },
      };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `${bucket}/${name}`, { cause: error });
    }
  };

  return {
    async read(bucket, name): Promise<Readable> {
      const found = await info(bucket, name);
      if (!found) throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_NOT_FOUND', `${bucket}/${name}`);
      return createReadStream(found.file, { highWaterMark: 256 * 1024 });
    },
    async stat(bucket, name, generation) {
      const found = (await info(bucket, name))?.info;
      // No older generations are kept locally: a named generation is the live file or nothing.
      return generation === undefined || found?.generation === generation ? found : undefined;
    },
    async *list(bucket, prefix): AsyncIterable<ObjectInfo> {
      let entries: string[];
      try {
        entries = await readdir(bucketDir(bucket), { recursive: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `list ${bucket}`, { cause: error });
      }
      const names = entries
        .map((e) => e.split(path.sep).join('/'))
        .filter((n) => n.startsWith(prefix) && localObjectNameProblem(n) === undefined)
        .sort();
      for (const name of names) {
        const found = await info(bucket, name).catch(() => undefined);
        if (found) yield found.info;
      }
    },
  };
}

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** One path segment, not `.` or `..` (what a bucket must still be when bucket names are not checked). */
const segmentProblem = (bucket: string): string | undefined =>
  bucket.includes('/') ? 'a bucket is one directory' : localObjectNameProblem(bucket);
