import type { FastifyRequest } from 'fastify';
import { CollectorError } from './errors.ts';

export interface Source {
  writeKey: string;
  sourceId: string;
}

/** The write key from HTTP Basic (username; password ignored, as Segment does). */
function decodeBasicUsername(header: string): string | undefined {
  const match = /^basic\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  return user === '' ? undefined : user;
}

/**
 * Decoded `Authorization` headers: a client sends the same header on every request, so the regex and base64 work
 * is done once per distinct header. Bounded: cleared when full (only arbitrary headers could fill it).
 */
const decodedHeaders = new Map<string, string | undefined>();
const MAX_DECODED_HEADERS = 1024;

function basicUsername(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const cached = decodedHeaders.get(header);
  if (cached !== undefined || decodedHeaders.has(header)) return cached;
  const user = decodeBasicUsername(header);
  if (decodedHeaders.size >= MAX_DECODED_HEADERS) decodedHeaders.clear();
  decodedHeaders.set(header, user);
  return user;
}

/**
 * Resolves the source of a request: write key as HTTP Basic username, else `writeKey` in the JSON body (for
 * `navigator.sendBeacon`, which cannot set headers). Unknown or missing key -> 401.
 */
export function authenticate(
  request: FastifyRequest,
  body: unknown,
  writeKeys: ReadonlyMap<string, string>,
): Source {
  let writeKey = basicUsername(request.headers.authorization);
  if (writeKey === undefined && typeof body === 'object' && body !== null) {
    const inBody = (body as { writeKey?: unknown }).writeKey;
    if (typeof inBody === 'string' && inBody !== '') writeKey = inBody;
  }
  if (writeKey === undefined) throw new CollectorError('SLUICE_ERR_PUBLISHER_AUTH_MISSING');
  const sourceId = writeKeys.get(writeKey);
  if (sourceId === undefined) throw new CollectorError('SLUICE_ERR_PUBLISHER_AUTH_UNKNOWN');
  return { writeKey, sourceId };
}
