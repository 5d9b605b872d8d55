import type { FastifyRequest } from 'fastify';
import { CollectorError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The source the request's write key resolved to; undefined until (or unless) it is authenticated. */
    sourceId: string | undefined;
  }
  interface FastifyContextConfig {
    /**
     * The route's client can send its write key only in the query string (`?writeKey=`): RudderStack's beacon and
     * source-config requests. Everywhere else a key in the URL is ignored (URLs end up in proxy and browser logs).
     */
    writeKeyInQuery?: boolean;
  }
}

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
 * Decoded `Authorization` headers, one cache per app (`createAuthHeaderCache`, decorated as
 * `app.authHeaderCache`): a client sends the same header on every request, so the regex and base64 work is done
 * once per distinct header. Bounded: cleared when full (only arbitrary headers could fill it).
 */
export type AuthHeaderCache = Map<string, string | undefined>;
const MAX_DECODED_HEADERS = 1024;

declare module 'fastify' {
  interface FastifyInstance {
    authHeaderCache: AuthHeaderCache;
  }
}

export function createAuthHeaderCache(): AuthHeaderCache {
  return new Map();
}

function basicUsername(cache: AuthHeaderCache | undefined, header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (cache === undefined) return decodeBasicUsername(header);
  const cached = cache.get(header);
  if (cached !== undefined || cache.has(header)) return cached;
  const user = decodeBasicUsername(header);
  if (cache.size >= MAX_DECODED_HEADERS) cache.clear();
  cache.set(header, user);
  return user;
}

/** `Authorization: Bearer <token>`: the token, or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The write key a request carries, in this order: HTTP Basic username (Segment's and RudderStack's libraries), a
 * Bearer token that is a configured key, `X-Write-Key` (Jitsu), `?writeKey=` on the routes whose client has no
 * other way (`writeKeyInQuery`), then `writeKey` in the JSON body (`navigator.sendBeacon`; Segment's libraries with
 * OAuth send a Bearer access token and the key in the body). A Bearer token that is not a key is used only when
 * nothing else names one, so an unknown token still counts as one failed lookup.
 */
function presentedKey(
  request: FastifyRequest,
  body: unknown,
  writeKeys: ReadonlyMap<string, string>,
): string | undefined {
  const { authorization } = request.headers;
  const basic = basicUsername(request.server.authHeaderCache, authorization);
  if (basic !== undefined) return basic;
  const bearer = bearerToken(authorization);
  if (bearer !== undefined && writeKeys.has(bearer)) return bearer;
  const header = request.headers['x-write-key'];
  const fromHeader = nonEmpty(Array.isArray(header) ? header[0] : header);
  if (fromHeader !== undefined) return fromHeader;
  if (request.routeOptions.config.writeKeyInQuery === true) {
    const query = request.query as Record<string, unknown> | undefined;
    const fromQuery = nonEmpty(query?.writeKey);
    if (fromQuery !== undefined) return fromQuery;
  }
  const fromBody =
    typeof body === 'object' && body !== null
      ? nonEmpty((body as { writeKey?: unknown }).writeKey)
      : undefined;
  return fromBody ?? bearer;
}

/**
 * Resolves the source of a request from its write key (see `presentedKey` for where it may be). Missing key or
 * unknown key -> 401 (an unknown key also counts against the client's failed-lookup limit, `lookupKey`). Records
 * the source on the request: CORS answers for the key's own source.
 */
export function authenticate(
  request: FastifyRequest,
  body: unknown,
  writeKeys: ReadonlyMap<string, string>,
): Source {
  const writeKey = presentedKey(request, body, writeKeys);
  if (writeKey === undefined) throw new CollectorError('SLUICE_ERR_PUBLISHER_AUTH_MISSING');
  return lookupKey(request, writeKey, writeKeys);
}

/**
 * Looks a presented write key up, under the app's failed-lookup limit (key-guard.ts): 429 when the client's address
 * is throttled, 401 (counted) when the key is unknown. Records the source on the request.
 */
export function lookupKey(
  request: FastifyRequest,
  writeKey: string,
  writeKeys: ReadonlyMap<string, string>,
): Source {
  const guard = request.server.keyLookupGuard;
  guard?.assertAllowed(request);
  const sourceId = writeKeys.get(writeKey);
  if (sourceId === undefined) {
    guard?.failed(request);
    throw new CollectorError('SLUICE_ERR_PUBLISHER_AUTH_UNKNOWN');
  }
  request.sourceId = sourceId;
  return { writeKey, sourceId };
}
