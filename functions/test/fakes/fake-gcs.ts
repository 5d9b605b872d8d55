import { createHash } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { apiError, type FakeResponse, json } from './fake-http.ts';

/** One stored generation of an object. */
export interface FakeObject {
  bucket: string;
  name: string;
  generation: string;
  data: Buffer;
  contentType: string;
  created: Date;
  /**
   * Custom metadata of this generation ("User-provided metadata, in key/value pairs", the object resource's
   * `metadata`, https://cloud.google.com/storage/docs/json_api/v1/objects#resource; set by the upload's metadata
   * part, https://cloud.google.com/storage/docs/metadata#custom-metadata). A new generation starts with what its
   * upload sets, never the previous generation's.
   */
  metadata?: Record<string, string>;
}

/** "The total size of custom metadata ... cannot exceed 8 KiB" (https://cloud.google.com/storage/quotas#objects). */
const CUSTOM_METADATA_MAX_BYTES = 8 * 1024;

/**
 * In-memory Cloud Storage (JSON API v1): multipart/media uploads, media download of the live or a named
 * generation, metadata, prefix listing with pagination, delete. Older generations are kept (as with object
 * versioning) so a download of a superseded generation behaves like GCS: 404 unless it is still stored.
 */
export class FakeGcs {
  /** `bucket/name` -> generations, oldest first; the last one is live unless deleted. */
  readonly #objects = new Map<string, FakeObject[]>();
  readonly #deleted = new Set<string>();
  #nextGeneration = 1_700_000_000_000_000;
  /** Page size for listings (GCS uses 1,000; tests lower it to exercise pagination). */
  listPageSize = 1000;

  put(
    bucket: string,
    name: string,
    data: Buffer | string,
    contentType = 'application/octet-stream',
    metadata?: Record<string, string>,
  ): FakeObject {
    const key = `${bucket}/${name}`;
    this.#nextGeneration += 1;
    const object: FakeObject = {
      bucket,
      name,
      generation: String(this.#nextGeneration),
      data: Buffer.isBuffer(data) ? data : Buffer.from(data),
      contentType,
      created: new Date(),
      ...(metadata && Object.keys(metadata).length > 0 ? { metadata: { ...metadata } } : {}),
    };
    const list = this.#objects.get(key) ?? [];
    list.push(object);
    this.#objects.set(key, list);
    this.#deleted.delete(key);
    return object;
  }

  /** The live generation, or a named one. */
  get(bucket: string, name: string, generation?: string): FakeObject | undefined {
    const key = `${bucket}/${name}`;
    const list = this.#objects.get(key);
    if (!list) return undefined;
    if (generation !== undefined) return list.find((o) => o.generation === generation);
    return this.#deleted.has(key) ? undefined : list.at(-1);
  }

  /** Live object names in a bucket, sorted (as GCS lists lexicographically). */
  names(bucket: string, prefix = ''): string[] {
    const out: string[] = [];
    for (const [key, list] of this.#objects) {
      const object = list.at(-1);
      if (!object || this.#deleted.has(key) || object.bucket !== bucket) continue;
      if (object.name.startsWith(prefix)) out.push(object.name);
    }
    return out.sort();
  }

  delete(bucket: string, name: string): boolean {
    const key = `${bucket}/${name}`;
    if (!this.get(bucket, name)) return false;
    this.#deleted.add(key);
    return true;
  }

  /** Removes one stored generation (live or noncurrent) for good. */
  deleteGeneration(bucket: string, name: string, generation: string): boolean {
    const key = `${bucket}/${name}`;
    const list = this.#objects.get(key);
    const at = list?.findIndex((o) => o.generation === generation) ?? -1;
    if (!list || at < 0) return false;
    const wasLive = at === list.length - 1;
    list.splice(at, 1);
    if (wasLive) this.#deleted.add(key);
    return true;
  }

  /** Every stored generation of every object in a bucket (live and noncurrent), for scans in tests. */
  allGenerations(bucket: string): FakeObject[] {
    return [...this.#objects.values()].flat().filter((o) => o.bucket === bucket);
  }

  resource(object: FakeObject): Record<string, unknown> {
    const crc = new CRC32C();
    crc.update(object.data);
    return {
      kind: 'storage#object',
      id: `${object.bucket}/${object.name}/${object.generation}`,
      name: object.name,
      bucket: object.bucket,
      generation: object.generation,
      metageneration: '1',
      contentType: object.contentType,
      size: String(object.data.length),
      md5Hash: createHash('md5').update(object.data).digest('base64'),
      crc32c: crc.toString(),
      timeCreated: object.created.toISOString(),
      updated: object.created.toISOString(),
      ...(object.metadata ? { metadata: { ...object.metadata } } : {}),
    };
  }

  handle(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    raw: Buffer,
  ): FakeResponse {
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    if (upload && method === 'POST') return this.#upload(decodeURIComponent(upload[1]!), query, headers, raw);
    const list = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    if (list && method === 'GET') return this.#list(decodeURIComponent(list[1]!), query);
    const one = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    if (one) {
      const bucket = decodeURIComponent(one[1]!);
      const name = decodeURIComponent(one[2]!);
      if (method === 'GET') {
        const object = this.get(bucket, name, query.generation);
        if (!object) return apiError(404, 'notFound', `No such object: ${bucket}/${name}`);
        if (query.alt === 'media') return this.#media(object);
        return json(200, this.resource(object));
      }
      if (method === 'DELETE') {
        // "generation: If present, permanently deletes a specific revision of this object (as opposed to the
        // latest version, the default)" (https://cloud.google.com/storage/docs/json_api/v1/objects/delete).
        if (query.generation !== undefined) {
          return this.deleteGeneration(bucket, name, query.generation)
            ? { status: 204 }
            : apiError(404, 'notFound', `No such object: ${bucket}/${name}#${query.generation}`);
        }
        return this.delete(bucket, name)
          ? { status: 204 }
          : apiError(404, 'notFound', `No such object: ${bucket}/${name}`);
      }
    }
    return apiError(501, 'notImplemented', `fake GCS does not implement ${method} ${path}`);
  }

  #media(object: FakeObject): FakeResponse {
    const resource = this.resource(object);
    return {
      status: 200,
      raw: object.data,
      headers: {
        'content-type': object.contentType,
        'x-goog-generation': object.generation,
        'x-goog-stored-content-encoding': 'identity',
        'x-goog-hash': `crc32c=${String(resource.crc32c)},md5=${String(resource.md5Hash)}`,
      },
    };
  }

  #list(bucket: string, query: Record<string, string>): FakeResponse {
    const names = this.names(bucket, query.prefix ?? '');
    const size = Math.min(
      Number(query.maxResults ?? this.listPageSize) || this.listPageSize,
      this.listPageSize,
    );
    const start = query.pageToken ? Number(query.pageToken) : 0;
    const page = names.slice(start, start + size);
    const items = page.map((name) => this.resource(this.get(bucket, name)!));
    const next = start + size < names.length ? String(start + size) : undefined;
    return json(200, { kind: 'storage#objects', items, ...(next ? { nextPageToken: next } : {}) });
  }

  #upload(
    bucket: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    raw: Buffer,
  ): FakeResponse {
    const type = query.uploadType;
    // Preconditions (https://cloud.google.com/storage/docs/request-preconditions): `ifGenerationMatch=0` creates
    // only if no live object exists; another value must equal the live generation; else 412.
    const unmet = (name: string): FakeResponse | undefined => {
      if (query.ifGenerationMatch === undefined) return undefined;
      const live = this.get(bucket, name);
      const ok =
        query.ifGenerationMatch === '0' ? live === undefined : live?.generation === query.ifGenerationMatch;
      return ok
        ? undefined
        : apiError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
    };
    if (type === 'media') {
      if (!query.name) return apiError(400, 'required', 'name is required');
      const failed = unmet(query.name);
      if (failed) return failed;
      const object = this.put(bucket, query.name, raw, headers['content-type'] ?? 'application/octet-stream');
      return json(200, this.resource(object));
    }
    if (type === 'multipart') {
      const boundary = /boundary=([^;]+)/.exec(headers['content-type'] ?? '')?.[1]?.replace(/^"|"$/g, '');
      if (!boundary) return apiError(400, 'invalid', 'multipart upload without boundary');
      const parts = splitMultipart(raw, boundary);
      const meta = parts[0];
      const media = parts[1];
      if (!meta || !media) return apiError(400, 'invalid', 'multipart upload needs metadata and media parts');
      const metadata = JSON.parse(meta.body.toString('utf8')) as {
        name?: string;
        contentType?: string;
        metadata?: unknown;
      };
      const name = query.name ?? metadata.name;
      if (!name) return apiError(400, 'required', 'name is required');
      const custom = customMetadata(metadata.metadata);
      if (typeof custom === 'string') return apiError(400, 'invalid', custom);
      const failed = unmet(name);
      if (failed) return failed;
      const contentType = metadata.contentType ?? media.headers['content-type'] ?? 'application/octet-stream';
      return json(200, this.resource(this.put(bucket, name, media.body, contentType, custom)));
    }
    return apiError(501, 'notImplemented', `fake GCS does not implement uploadType=${String(type)}`);
  }
}

/** The upload's custom metadata: string values, at most 8 KiB in all (keys + values); else the 400 message. */
function customMetadata(raw: unknown): Record<string, string> | undefined | string {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) return 'metadata must be an object';
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') return `metadata value of ${k} must be a string`;
    out[k] = v;
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (bytes > CUSTOM_METADATA_MAX_BYTES) return 'custom metadata exceeds 8 KiB';
  return out;
}

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

function splitMultipart(raw: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let index = raw.indexOf(delimiter);
  while (index >= 0) {
    const start = index + delimiter.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const next = raw.indexOf(delimiter, start);
    if (next < 0) break;
    const chunk = raw.subarray(start + 2, next - 2); // skip CRLF after the delimiter and before the next one
    const split = chunk.indexOf('\r\n\r\n');
    const head = chunk.subarray(0, split).toString('utf8');
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: chunk.subarray(split + 4) });
    index = next;
  }
  return parts;
}
