import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { LoaderError } from '../errors.ts';
import { localDirectoryStore } from '../storage/local-directory.ts';
import { localObjectNameProblem } from '../storage/object-name.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/**
 * The object store with the two writes a privacy request makes: replace an object (a new generation, only if the
 * live one is still `generation`) and delete an old generation (versioned buckets keep noncurrent copies). Also
 * used for the suppression list object (`getSmall`/`putSmall`).
 */
export interface RawStore extends ObjectStore {
  /** Writes `data` as the new generation of the object if its live generation is `ifGeneration` (`'0'`: absent). */
  replace(bucket: string, name: string, data: Buffer, ifGeneration: string): Promise<string>;
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
    async replace(bucket, name, data, ifGeneration) {
      const file = fileOf(bucket, name);
      const live = await base.stat(bucket, name);
      if ((live?.generation ?? '0') !== ifGeneration) throw conflict(`${bucket}/${name}`);
      const tmp = `${file}.privacy-${randomUUID()}.tmp`;
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(tmp, data);
      try {
        // A rename onto the same mtime-ns would keep the generation: make sure the new one differs.
        await rename(tmp, file);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      let after = await base.stat(bucket, name);
      for (let i = 0; after && after.generation === ifGeneration && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        await writeFile(file, data);
        after = await base.stat(bucket, name);
      }
      if (!after) throw conflict(`${bucket}/${name}`);
      return after.generation;
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
    async replace(bucket, name, data, ifGeneration) {
      const file = storage.bucket(bucket).file(name);
      try {
        await file.save(data, {
          resumable: false,
          contentType: 'application/x-ndjson',
          preconditionOpts: { ifGenerationMatch: Number(ifGeneration) },
        });
      } catch (error) {
        if (httpStatus(error) === 412) throw conflict(`gs://${bucket}/${name}`);
        throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `writing gs://${bucket}/${name}`, {
          cause: error,
        });
      }
      const [metadata] = await file.getMetadata();
      return String(metadata.generation);
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
