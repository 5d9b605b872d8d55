import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorConfig } from './config.ts';
import { CollectorError } from './errors.ts';

type OriginConfig = Pick<CollectorConfig, 'allowedOrigins' | 'defaultOrigins'>;

function listAllows(list: readonly string[], origin: string): boolean {
  return list.includes('*') || list.includes(origin);
}

/** True when `origin` may send events for `sourceId`. */
export function originAllowed(config: OriginConfig, sourceId: string, origin: string): boolean {
  return listAllows(config.allowedOrigins.get(sourceId) ?? config.defaultOrigins, origin);
}

/** True when any source accepts `origin` (preflights carry no write key). */
function anySourceAllows(config: OriginConfig, origin: string): boolean {
  if (listAllows(config.defaultOrigins, origin)) return true;
  for (const list of config.allowedOrigins.values()) if (listAllows(list, origin)) return true;
  return false;
}

/**
 * CORS with a per-source origin allow-list. Preflights (no write key yet) pass when any source allows the
 * origin; the actual request is then checked against its own source's list (`assertOrigin`).
 */
export function registerCors(app: FastifyInstance, config: OriginConfig): void {
  // A callback hook, not an async one: no promise per request, and a request without Origin (servers, curl)
  // costs one header lookup.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const origin = request.headers.origin;
    if (origin && anySourceAllows(config, origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
      reply.header('vary', 'Origin');
      reply.header('access-control-expose-headers', 'Retry-After');
    }
    done();
  });
  app.options('/*', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && anySourceAllows(config, origin)) {
      reply.header('access-control-allow-methods', 'POST, GET, OPTIONS');
      reply.header(
        'access-control-allow-headers',
        request.headers['access-control-request-headers'] ?? 'content-type, authorization',
      );
      reply.header('access-control-max-age', '86400');
    }
    return reply.code(204).send();
  });
}

/** Throws 403 when a browser origin sends events for a source that does not allow it. */
export function assertOrigin(config: OriginConfig, request: FastifyRequest, sourceId: string): void {
  const origin = request.headers.origin;
  if (origin && !originAllowed(config, sourceId, origin)) {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_ORIGIN_NOT_ALLOWED');
  }
}
