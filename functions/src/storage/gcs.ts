import type { Readable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import { LoaderError } from '../errors.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';

interface GcsMetadata {
  name?: string;
  generation?: string | number;
  size?: string | number;
  updated?: string;
  /** Custom metadata (https://cloud.google.com/storage/docs/metadata#custom-metadata). */
  metadata?: Record<string, unknown> | null;
}

function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function toInfo(bucket: string, metadata: GcsMetadata): ObjectInfo {
  return {
    bucket,
    name: String(metadata.name),
    generation: String(metadata.generation),
    size: Number(metadata.size ?? 0),
    updated: new Date(metadata.updated ?? 0),
    ...customMetadata(metadata.metadata),
  };
}

/** Custom metadata with string values only (GCS stores strings; anything else is ignored). */
export function customMetadata(raw: unknown): { metadata?: Record<string, string> } {
  if (typeof raw !== 'object' || raw === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return Object.keys(out).length > 0 ? { metadata: out } : {};
}

/**
 * Cloud Storage as an ObjectStore. `read` streams the exact generation named in the CloudEvent: if that generation
 * was replaced or deleted, GCS answers 404 and the load fails with the non-retryable GENERATION_GONE (the new
 * generation has its own finalized event). Downloads are validated (CRC32C/MD5) by the client. Listing pages
 * through every object under a prefix, in name order (replay selects dates by prefix `raw/YYYY-MM-DD/`).
 */
export function gcsObjectStore(storage: Storage): ObjectStore {
  return {
    async read(bucket, name, generation): Promise<Readable> {
      const file = storage
        .bucket(bucket)
        .file(name, generation === undefined ? {} : { generation: Number(generation) });
      const stream = file.createReadStream();
      // Surface "not found" before handing the stream to the parser: wait for the first byte, the end or an error.
      await new Promise<void>((resolve, reject) => {
        const onError = (error: unknown): void => {
          cleanup();
          const status = httpStatus(error);
          if (status === 404) {
            reject(
              generation === undefined
                ? new LoaderError('SLUICE_ERR_LOAD_OBJECT_NOT_FOUND', `gs://${bucket}/${name}`, {
                    cause: error,
                  })
                : new LoaderError(
                    'SLUICE_ERR_LOAD_OBJECT_GENERATION_GONE',
                    `gs://${bucket}/${name}#${generation}`,
                    {
                      cause: error,
                    },
                  ),
            );
          } else {
            reject(
              new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `gs://${bucket}/${name}`, { cause: error }),
            );
          }
        };
        const onReadable = (): void => {
          cleanup();
          resolve();
        };
        const cleanup = (): void => {
          stream.off('error', onError);
          stream.off('readable', onReadable);
          stream.off('end', onReadable);
        };
        stream.once('error', onError);
        stream.once('readable', onReadable);
        stream.once('end', onReadable);
      });
      stream.on('error', () => {
        // Later errors (connection reset mid-file) reach the consumer through the stream itself.
      });
      return stream;
    },

    async stat(bucket, name, generation): Promise<ObjectInfo | undefined> {
      try {
        const [metadata] = await storage
          .bucket(bucket)
          .file(name, generation === undefined ? {} : { generation: Number(generation) })
          .getMetadata();
        return toInfo(bucket, metadata as GcsMetadata);
      } catch (error) {
        if (httpStatus(error) === 404) return undefined;
        throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `stat gs://${bucket}/${name}`, { cause: error });
      }
    },

    async *list(bucket, prefix): AsyncIterable<ObjectInfo> {
      let pageToken: string | undefined;
      do {
        let files: { metadata: GcsMetadata }[];
        let next: { pageToken?: string } | null | undefined;
        try {
          [files, next] = (await storage.bucket(bucket).getFiles({
            prefix,
            autoPaginate: false,
            maxResults: 1000,
            ...(pageToken ? { pageToken } : {}),
          })) as unknown as [{ metadata: GcsMetadata }[], { pageToken?: string } | null];
        } catch (error) {
          throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', `list gs://${bucket}/${prefix}`, {
            cause: error,
          });
        }
        for (const file of files) yield toInfo(bucket, file.metadata);
        pageToken = next?.pageToken ?? undefined;
      } while (pageToken);
    },
  };
}

/** `gs://bucket/name` -> parts, or undefined for anything else. */
export function parseGsUri(uri: string): { bucket: string; name: string } | undefined {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return m ? { bucket: m[1]!, name: m[2] ?? '' } : undefined;
}

/** Cloud Storage store from settings; the client library is loaded on demand (dynamic import). */
export async function createGcsObjectStore(settings: {
  projectId: string;
  storageEndpoint: string | undefined;
}): Promise<ObjectStore> {
  const { Storage: StorageClient } = await import('@google-cloud/storage');
  return gcsObjectStore(
    new StorageClient({
      ...(settings.projectId ? { projectId: settings.projectId } : {}),
      ...(settings.storageEndpoint ? { apiEndpoint: settings.storageEndpoint } : {}),
    }),
  );
}
