import type { CloudEvent } from '@google-cloud/functions-framework';
import type { StorageObjectData } from '@sluice/sdk/protocol';
import type { LoaderConfig } from './config.ts';
import type { Destination } from './destinations/destination.ts';
import { LoaderError } from './errors.ts';
import { type LoadOutcome, loadObject, type ObjectRef } from './load/load-object.ts';
import type { Logger } from './logger.ts';
import type { SuppressionSource } from './privacy/suppression-source.ts';
import type { ObjectStore } from './storage/object-store.ts';

export interface HandlerDeps {
  config: LoaderConfig;
  logger: Logger;
  store: ObjectStore;
  /** A fresh Destination per invocation (it is opened and closed around each load). */
  destination: () => Promise<Destination>;
  /** The suppression list, read at the start of every load (privacy/suppression-source.ts). */
  suppression?: SuppressionSource;
}

/** StorageObjectData -> ObjectRef; undefined when the event does not describe an object. */
export function objectRefOf(data: unknown): ObjectRef | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { bucket, name, generation } = data as Partial<StorageObjectData>;
  if (typeof bucket !== 'string' || bucket === '' || typeof name !== 'string' || name === '')
    return undefined;
  if (typeof generation !== 'string' && typeof generation !== 'number') return undefined;
  const gen = String(generation);
  if (!/^\d+$/.test(gen)) return undefined;
  return { bucket, name, generation: gen, ...eventMetadata(data as Record<string, unknown>) };
}

/**
 * The object's custom metadata from a Cloud Storage CloudEvent: StorageObjectData carries the object resource,
 * `metadata` included ("User-provided metadata, in key/value pairs",
 * https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/storage/v1/data.proto).
 * A full resource (`kind: storage#object`) without `metadata` has none: `{}`, no `objects.get` needed. An event
 * with only bucket/name/generation (the local stand-in, the spool, the CLIs) says nothing: undefined, and the
 * loader reads the metadata itself when it needs it.
 */
function eventMetadata(data: Record<string, unknown>): { metadata?: Record<string, string> } {
  const raw = data.metadata;
  if (typeof raw === 'object' && raw !== null) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
    return { metadata: out };
  }
  return data.kind === 'storage#object' ? { metadata: {} } : {};
}

/**
 * The `loadEvents` CloudEvent function body. Resolves (the event is acknowledged) after a load, a no-op redelivery,
 * or a problem no retry can fix (logged with its code); rejects only with retryable errors, so the trigger retries.
 */
export function createLoadHandler(
  deps: HandlerDeps,
): (event: CloudEvent<unknown>) => Promise<LoadOutcome | undefined> {
  return async (event) => {
    const ref = objectRefOf(event.data);
    const log = deps.logger.child({ cloudEventId: event.id });
    if (!ref) {
      log.error(
        { code: 'SLUICE_ERR_LOAD_BAD_CLOUDEVENT', type: event.type },
        'CloudEvent data is not an object ref',
      );
      return undefined;
    }
    try {
      return await loadObject(
        {
          store: deps.store,
          destination: await deps.destination(),
          logger: log,
          settings: deps.config,
          ...(deps.suppression ? { suppression: deps.suppression } : {}),
        },
        ref,
      );
    } catch (error) {
      if (error instanceof LoaderError && !error.retryable) {
        log.error({ code: error.code, bucket: ref.bucket, name: ref.name }, error.message);
        return undefined;
      }
      log.warn(
        { code: error instanceof LoaderError ? error.code : undefined, err: error },
        'load failed; will retry',
      );
      throw error;
    }
  };
}
