/**
 * Seam 5 — the `google.cloud.storage.object.v1.finalized` CloudEvent that Eventarc delivers for a new raw file,
 * and that the local stand-in and the spool transport POST to the loader in the same shape (binary content mode).
 */

export const STORAGE_FINALIZED_TYPE = 'google.cloud.storage.object.v1.finalized';

/** StorageObjectData as Eventarc sends it (JSON mapping of the proto: int64 fields may arrive as strings). */
export interface StorageObjectData {
  bucket: string;
  name: string;
  generation: string | number;
  size?: string | number;
  contentType?: string;
  timeCreated?: string;
  updated?: string;
  metageneration?: string | number;
}

export interface FinalizedObject {
  bucket: string;
  name: string;
  generation: string;
  size: number;
  /** When the object was finalized. */
  time: Date;
  /** CloudEvent id; Eventarc re-uses it on retry. Default: `<bucket>/<name>#<generation>`. */
  id?: string;
}

/** A binary-mode CloudEvent HTTP request (headers + JSON body), as Eventarc POSTs it to a function. */
export function finalizedCloudEvent(object: FinalizedObject): {
  headers: Record<string, string>;
  body: string;
} {
  const data: StorageObjectData = {
    bucket: object.bucket,
    name: object.name,
    generation: object.generation,
    size: String(object.size),
    contentType: 'application/x-ndjson',
    timeCreated: object.time.toISOString(),
    updated: object.time.toISOString(),
    metageneration: '1',
  };
  return {
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': object.id ?? `${object.bucket}/${object.name}#${object.generation}`,
      'ce-type': STORAGE_FINALIZED_TYPE,
      'ce-source': `//storage.googleapis.com/projects/_/buckets/${object.bucket}`,
      'ce-subject': `objects/${object.name}`,
      'ce-time': object.time.toISOString(),
    },
    body: JSON.stringify(data),
  };
}
