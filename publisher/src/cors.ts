import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { CollectorConfig } from './config.ts';
import { CollectorError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** An operator endpoint (`/metrics`, health): no CORS headers or preflight, no write key, no failed-lookup limit. */
    ops?: boolean;
  }
}

type OriginConfig = Pick<CollectorConfig, 'allowedOrigins' | 'defaultOrigins'>;

/** How a list admits an origin: named in it (`listed`), through `*` (`any`), or not at all. */
type Match = 'listed' | 'any' | undefined;

function listMatch(list: readonly string[], origin: string): Match {
  if (list.includes(origin)) return 'listed';
  return list.includes('*') ? 'any' : undefined;
}

/** The list a source is held to: its own entry, else the global entry (empty when only per-source entries exist). */
function sourceMatch(config: OriginConfig, sourceId: string, origin: string): Match {
  return listMatch(config.allowedOrigins.get(sourceId) ?? config.defaultOrigins, origin);
}

/**
 * For requests whose source is not known (a preflight carries no write key; a request refused before its key was
 * read): the best any source's list gives. The request itself is then held to its own source's list.
 */
function anySourceMatch(config: OriginConfig, origin: string): Match {
  let best = listMatch(config.defaultOrigins, origin);
  for (const list of config.allowedOrigins.values()) {
    if (best === 'listed') break;
    best = listMatch(list, origin) ?? best;
  }
  return best;
}

/** True when `origin` may send events for `sourceId`. */
export function originAllowed(config: OriginConfig, sourceId: string, origin: string): boolean {
  return sourceMatch(config, sourceId, origin) !== undefined;
}

/**
 * Allow-origin headers for a match. A listed origin gets itself back with `allow-credentials` (some clients send
 * credentialed requests, docs/security.md); `*` gets the literal `*`, which browsers never honour for a
 * credentialed request.
 */
function allowHeaders(reply: FastifyReply, origin: string, match: Match): void {
  if (match === 'listed') {
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
  } else if (match === 'any') {
    reply.header('access-control-allow-origin', '*');
  }
}

/** Adds `Origin` to `Vary` without dropping what a route put there. */
function varyOrigin(reply: FastifyReply): void {
  const current = reply.getHeader('vary');
  const text = Array.isArray(current) ? current.join(', ') : current === undefined ? '' : String(current);
  if (!/(^|,)\s*origin\s*(,|$)/i.test(text)) reply.header('vary', text === '' ? 'Origin' : `${text}, Origin`);
}

/** Header names a preflight may ask for: tokens and commas only, bounded (it is echoed back). */
const REQUEST_HEADERS = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/**
 * Per-route CORS with per-source origin lists (docs/security.md):
 * - every route not marked `config: { ops: true }` gets a preflight (`OPTIONS`) answered from any source's list
 *   (it carries no key), and its responses carry allow-origin for the request's own source once its key resolved
 *   (`request.sourceId`), else from any source's list (so a page can read a 400 or 401);
 * - `ops` routes (`/metrics`, health) and unknown paths get no CORS headers at all.
 * Call before registering routes.
 */
export function registerCors(app: FastifyInstance, config: OriginConfig): void {
  const preflighted = new Set<string>();
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.config?.ops === true || !methods.some((m) => m === 'GET' || m === 'POST')) return;
    if (preflighted.has(route.url)) return;
    preflighted.add(route.url);
    app.options(route.url, async (request, reply) => {
      const origin = request.headers.origin;
      const match = origin === undefined ? undefined : anySourceMatch(config, origin);
      varyOrigin(reply);
      if (origin !== undefined && match !== undefined) {
        allowHeaders(reply, origin, match);
        reply.header('access-control-allow-methods', 'POST, GET, OPTIONS');
        const asked = request.headers['access-control-request-headers'];
        reply.header(
          'access-control-allow-headers',
          asked !== undefined && asked.length <= 1024 && REQUEST_HEADERS.test(asked)
            ? asked
            : 'content-type, authorization, x-write-key',
        );
        reply.header('access-control-max-age', '7200');
      }
      return reply.code(204).send();
    });
  });
  app.addHook(
    'onSend',
    (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (e: null, p: unknown) => void) => {
      const origin = request.headers.origin;
      if (
        origin !== undefined &&
        request.method !== 'OPTIONS' &&
        request.routeOptions.config.ops !== true &&
        request.routeOptions.url !== undefined
      ) {
        const sourceId = request.sourceId;
        allowHeaders(
          reply,
          origin,
          sourceId === undefined ? anySourceMatch(config, origin) : sourceMatch(config, sourceId, origin),
        );
        varyOrigin(reply);
        reply.header('access-control-expose-headers', 'Retry-After');
      }
      done(null, payload);
    },
  );
}

/** Throws 403 when a browser origin sends events for a source that does not allow it. */
export function assertOrigin(config: OriginConfig, request: FastifyRequest, sourceId: string): void {
  const origin = request.headers.origin;
  if (origin && !originAllowed(config, sourceId, origin)) {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_ORIGIN_NOT_ALLOWED');
  }
}
