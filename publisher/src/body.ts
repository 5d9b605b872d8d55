import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CollectorError } from './errors.ts';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/**
 * The collector's request body limit (decoded bytes): 512 KiB of messages plus 4 KiB of envelope. analytics-ruby
 * caps a batch's messages at 512,000 bytes of JSON and then adds its envelope (a full batch is ~512,050 bytes);
 * the other Segment libraries stay under 500 KB. Separate from the SDK's own `LIMITS.maxBatchBytes` (what Segment
 * documents, and what Sluice's SDK sends at most).
 */
export const MAX_REQUEST_BYTES = 524_288 + 4_096;

declare module 'fastify' {
  interface FastifyRequest {
    /** Size of the decoded (decompressed) body in bytes. */
    bodyBytes: number;
    /** The decoded body as text (UTF-8), from which `body` was parsed: what enrichment copies from. */
    bodyText: string | undefined;
  }
}

/** Decoded body for a compressed `Content-Encoding` (unknown -> 415, over `maxBytes` -> 413, corrupt -> 400). */
async function decompress(encoding: string, raw: Buffer, maxBytes: number): Promise<Buffer> {
  const inflater =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? gunzipAsync
      : encoding === 'deflate'
        ? inflateAsync
        : undefined;
  if (!inflater) throw new CollectorError('SLUICE_ERR_PUBLISHER_BODY_ENCODING');
  try {
    return await inflater(raw, { maxOutputLength: maxBytes + 1 });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new CollectorError('SLUICE_ERR_PUBLISHER_BATCH_TOO_LARGE');
    }
    throw new CollectorError('SLUICE_ERR_PUBLISHER_BODY_PARSE', { message: `body is not valid ${encoding}` });
  }
}

function parseInto(
  request: FastifyRequest,
  body: Buffer,
  maxBytes: number,
  done: (error: Error | null, body?: unknown) => void,
): void {
  let parsed: unknown;
  try {
    parsed = parseJson(request, body, maxBytes);
  } catch (error) {
    done(error as Error);
    return;
  }
  done(null, parsed);
}

function parseJson(request: FastifyRequest, body: Buffer, maxBytes: number): unknown {
  if (body.length > maxBytes) throw new CollectorError('SLUICE_ERR_PUBLISHER_BATCH_TOO_LARGE');
  request.bodyBytes = body.length;
  if (body.length === 0)
    throw new CollectorError('SLUICE_ERR_PUBLISHER_BODY_PARSE', { message: 'empty body' });
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    request.bodyText = text;
    return parsed;
  } catch {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_BODY_PARSE');
  }
}

/**
 * One body parser for every content type: Segment's clients send `application/json` (optionally gzip-encoded),
 * analytics.js sends `text/plain` (to skip CORS preflights) and `sendBeacon` sends whatever the browser picks.
 * All are parsed as JSON, after decompression, within `maxBytes` (decoded; `MAX_REQUEST_BYTES` in the app). An
 * uncompressed body (nearly all) is parsed synchronously; only decompression goes through a promise. The text is
 * kept as `request.bodyText`: the collector publishes the client's own text, not a re-serialization of `body`.
 */
export function registerBodyParser(app: FastifyInstance, maxBytes: number): void {
  app.decorateRequest('bodyBytes', 0);
  app.decorateRequest('bodyText', undefined);
  app.removeAllContentTypeParsers();
  const parser = (
    request: FastifyRequest,
    raw: Buffer,
    done: (error: Error | null, body?: unknown) => void,
  ): void => {
    const header = request.headers['content-encoding'];
    if (header === undefined) {
      parseInto(request, raw, maxBytes, done);
      return;
    }
    const encoding = header.toLowerCase().trim();
    if (encoding === 'identity' || encoding === '') parseInto(request, raw, maxBytes, done);
    else decompress(encoding, raw, maxBytes).then((body) => parseInto(request, body, maxBytes, done), done);
  };
  // The same parser under the common types too: Fastify caches the lookup of a registered type, while a type
  // that only the catch-all matches is parsed and searched for on every request.
  for (const type of ['application/json', 'text/plain', '*']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: maxBytes }, parser);
  }
}
