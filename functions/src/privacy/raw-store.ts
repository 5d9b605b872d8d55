import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Storage } from '@google-cloud/storage';
import { LoaderError } from '../errors.ts';
import { localDirectoryStore } from '../storage/local-directory.ts';
import { writeSidecar } from '../storage/local-metadata.ts';
import { localObjectNameProblem } from '../storage/object-name.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/**
 * The object store with the two writes a privacy request makes: replace an object (a new generation, only if the
 * live one is still `generation`) and delete an old generation (versioned buckets keep noncurrent copies). Also
 * used for the suppression list object (`getSmall`/`putSmall`).
 */
export interface RawStore extends ObjectStore {
  /**
   * Writes `data` (a buffer, or chunks streamed without holding the object in memory) as the new generation of
   * the object if its live generation is `ifGeneration` (`'0'`: absent), with `metadata` as its custom metadata,
   * written with the same upload (never visible without it). Returns the new generation.
   */
  replace(
    bucket: string,
    name: string,
    data: Buffer | AsyncIterable<Buffer>,
    ifGeneration: string,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<string>;
  /** Deletes generation `generation` if it is still stored (no error when it is gone). */
  deleteGeneration(bucket: string, name: string, generation: string): Promise<void>;
}

const conflict = (what: string): LoaderError =>
  new LoaderError('SLUICE_ERR_PRIVACY_CONFLICT', `${what} changed while the request ran; run it again`);

/** Local buckets directory: write a temp file next to the object, then rename over it (a new mtime = generation). */
export function localRawStore(bucketsDir: string): RawStore {
  const base = localDirectoryStore(bucketsDir);
  const fileOf = (bucket: string, name: string): string => {
    const problem = localObjectNameProblem(name) ?? localObjectNameProblem(bucket);
    if (problem) throw new LoaderError('SLUICE_ERR_PRIVACY_INVALID_REQUEST', `${bucket}/${name}: ${problem}`);
    return path.join(bucketsDir, bucket, ...name.split('/'));
  };
  return {
    ...base,
    async replace(bucket, name, data, ifGeneration, metadata) {
      const file = fileOf(bucket, name);
      const live = await base.stat(bucket, name);
      if ((live?.generation ?? '0') !== ifGeneration) throw conflict(`${bucket}/${name}`);
      const tmp = `${file}.privacy-${randomUUID()}.tmp`;
      await mkdir(path.dirname(file), { recursive: true });
      try {
        await pipeline(
          Buffer.isBuffer(data) ? Readable.from([data]) : Readable.from(data),
          createWriteStream(tmp),
        );
        // rename keeps the mtime: the temp file's mtime-ns IS the new generation. It must differ from the old one.
        let generation = String((await stat(tmp, { bigint: true })).mtimeNs);
        for (let i = 1; generation === ifGeneration && i < 100; i++) {
          const t = new Date(Date.now() + i);
          await utimes(tmp, t, t);
          generation = String((await stat(tmp, { bigint: true })).mtimeNs);
        }
        if (metadata) await writeSidecar(bucketsDir, bucket, name, generation, metadata);
        await rename(tmp, file);
        return generation;
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async deleteGeneration(bucket, name, generation) {
      // Local files keep no older generations: the rename replaced it. Only a live file of that generation goes.
      const live = await base.stat(bucket, name);
      if (live?.generation === generation) await rm(fileOf(bucket, name), { force: true });
    },
  };
}

function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Cloud Storage: `ifGenerationMatch` preconditions (https://cloud.google.com/storage/docs/request-preconditions). */
export function gcsRawStore(storage: Storage, base: ObjectStore): RawStore {
  return {
    ...base,
    async replace(bucket, name, data, ifGeneration, metadata) {
      const file = storage.bucket(bucket).file(name);
      // One upload carries the media and its custom metadata (the multipart upload's metadata part,
      // https://cloud.google.com/storage/docs/uploading-objects), under `ifGenerationMatch`: the new generation
      // never exists without its mark, and a generation that changed meanwhile fails with 412.
      const upload = file.createWriteStream({
        resumable: false,
        metadata: { contentType: 'application/x-ndjson', ...(metadata ? { metadata: { ...metadata } } : {}) },
        preconditionOpts: { ifGenerationMatch: Number(ifGeneration) },
      });
      try {
        await pipeline(Buffer.isBuffer(data) ? Readable.from([data]) : Readable.from(data), upload);
      } catch (error) {
        if (httpStatus(error) === 412) throw conflict(`gs://${bucket}/${name}`);
        throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `writing gs://${bucket}/${name}`, {
          cause: error,
        });
      }
      const generation = (file.metadata as { generation?: unknown } | undefined)?.generation;
      if (generation !== undefined) return String(generation);
      const [after] = await file.getMetadata();
      return String(after.generation);
    },
    async deleteGeneration(bucket, name, generation) {
      try {
        await storage
          .bucket(bucket)
          .file(name, { generation: Number(generation) })
          .delete();
      } catch (error) {
        if (httpStatus(error) === 404) return;
        throw new LoaderError(
          'SLUICE_ERR_LOAD_OBJECT_READ',
          `deleting gs://${bucket}/${name}#${generation}`,
          {
            cause: error,
          },
        );
      }
    },
  };
}

/** Whole small object (the suppression list) as text, or undefined when absent; with its generation. */
export async function readSmall(
  store: ObjectStore,
  bucket: string,
  name: string,
): Promise<{ text: string; generation: string } | undefined> {
  const info = await store.stat(bucket, name);
  if (!info) return undefined;
  const stream = await store.read(bucket, name, info.generation).catch((error: unknown) => {
    if (error instanceof LoaderError && error.code === 'SLUICE_ERR_LOAD_OBJECT_NOT_FOUND') return undefined;
    throw error;
  });
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return { text: Buffer.concat(chunks).toString('utf8'), generation: info.generation };
}
