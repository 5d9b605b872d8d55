import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { lookupKey } from '../auth.ts';
import type { CollectorConfig } from '../config.ts';
import { CollectorError } from '../errors.ts';

/** A DNS name or an IPv4 address or a bracketed IPv6 address, with an optional port: nothing else is a host. */
const HOST =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The collector's public base URL and whether it may be cached publicly. `SLUICE_PUBLIC_URL` when set (validated at
 * startup: http or https); otherwise the request's host and protocol (which honour `X-Forwarded-Host` and
 * `X-Forwarded-Proto` only from proxies `SLUICE_TRUST_PROXY` trusts), checked here: a host that is not a host name
 * or address, or a protocol other than http/https, is refused. A URL derived from a request is never cached by
 * shared caches (it could otherwise poison every client's settings for 300 s).
 */
export function publicBase(
  config: Pick<CollectorConfig, 'publicUrl'>,
  request: FastifyRequest,
): { base: URL; shared: boolean } {
  if (config.publicUrl) return { base: new URL(config.publicUrl), shared: true };
  const protocol = request.protocol;
  const host = request.host;
  if ((protocol !== 'http' && protocol !== 'https') || typeof host !== 'string' || !HOST.test(host)) {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_HOST_INVALID');
  }
  return { base: new URL(`${protocol}://${host}`), shared: false };
}

/** Cache headers for an answer built from `publicBase`. */
export function cacheFor(reply: FastifyReply, shared: boolean): void {
  if (shared) reply.header('cache-control', 'public, max-age=300');
  else {
    reply.header('cache-control', 'private, max-age=300');
    reply.header('vary', 'Origin, Host, X-Forwarded-Host, X-Forwarded-Proto');
  }
}

/**
 * `GET /v1/projects/:writeKey/settings`: what analytics.js (analytics-next) fetches from its CDN on load. The
 * `Segment.io` integration points its API host back at this collector; no other destinations, no remote plugins.
 * An unknown key is a failed lookup (401, counted per client address like every other route's).
 */
export function registerSettingsRoute(app: FastifyInstance, config: CollectorConfig): void {
  app.get<{ Params: { writeKey: string } }>('/v1/projects/:writeKey/settings', async (request, reply) => {
    const { writeKey } = request.params;
    lookupKey(request, writeKey, config.writeKeys);
    const { base, shared } = publicBase(config, request);
    const path = base.pathname.replace(/\/+$/, '');
    cacheFor(reply, shared);
    return {
      integrations: {
        'Segment.io': {
          apiKey: writeKey,
          apiHost: `${base.host}${path}/v1`,
          protocol: base.protocol.replace(':', ''),
          unbundledIntegrations: [],
          addBundledMetadata: true,
          maybeBundledConfigIds: {},
          versionSettings: { version: '4.4.7', componentTypes: ['browser'] },
        },
      },
      plan: {
        track: { __default: { enabled: true, integrations: {} } },
        identify: { __default: { enabled: true } },
        group: { __default: { enabled: true } },
      },
      edgeFunction: {},
      analyticsNextEnabled: true,
      middlewareSettings: {},
      enabledMiddleware: {},
      metrics: { sampleRate: 0 },
      legacyVideoPluginsEnabled: false,
      remotePlugins: [],
    };
  });
}
