import type { Readable } from 'node:stream';

/**
 * Seam — where raw window files are read from. Two implementations: a local directory per bucket
 * (`local-directory.ts`) and Cloud Storage (`gcs.ts`, BigQuery engineer). The loader and the CLIs only see this.
 */
export interface ObjectInfo {
  bucket: string;
  name: string;
  /** Object generation as a decimal string; part of the load's idempotency key. */
  generation: string;
  size: number;
  /** Last modification / finalization time. */
  updated: Date;
  /**
   * The object's custom metadata (GCS `metadata`, key/value strings; locally a sidecar file, local-metadata.ts),
   * when it has any. A privacy rewrite marks the generation it replaced there (privacy/rewrite-marker.ts).
   */
  metadata?: Readonly<Record<string, string>>;
}

export interface ObjectStore {
  /**
   * A byte stream of the object. Stores with real generations (GCS) read exactly `generation` when given, or
   * fail with `SLUICE_ERR_LOAD_OBJECT_GENERATION_GONE` (not retryable: the object was replaced; its own finalized
   * event loads the new generation). A missing object fails with `SLUICE_ERR_LOAD_OBJECT_NOT_FOUND`; transient
   * I/O with `SLUICE_ERR_LOAD_OBJECT_READ` (retryable). The stream may also emit such errors.
   */
  read(bucket: string, name: string, generation?: string): Promise<Readable>;
  /**
   * Metadata of the current generation, or of `generation` when given (GCS: `objects.get?generation=`; locally
   * only the live file, undefined when its generation differs), or undefined when it does not exist.
   */
  stat(bucket: string, name: string, generation?: string): Promise<ObjectInfo | undefined>;
  /** Every object whose name starts with `prefix`, in name order (used by replay). */
  list(bucket: string, prefix: string): AsyncIterable<ObjectInfo>;
}
