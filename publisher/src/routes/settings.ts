import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CollectorConfig } from '../config.ts';
import { CollectorError } from '../errors.ts';

function publicBase(config: CollectorConfig, request: FastifyRequest): URL {
  if (config.publicUrl) return new URL(config.publicUrl);
  // request.protocol / request.host honour X-Forwarded-* only when trustProxy is configured.
  return new URL(`${request.protocol}://${request.host}`);
}

/**
 * `GET /v1/projects/:writeKey/settings`: what analytics.js (analytics-next) fetches from its CDN on load. The
 * `Segment.io` integration points its API host back at this collector; no other destinations, no remote plugins.
 */
export function registerSettingsRoute(app: FastifyInstance, config: CollectorConfig): void {
  app.get<{ Params: { writeKey: string } }>('/v1/projects/:writeKey/settings', async (request, reply) => {
    const { writeKey } = request.params;
    if (!config.writeKeys.has(writeKey)) throw new CollectorError('SLUICE_ERR_PUBLISHER_AUTH_UNKNOWN');
    const base = publicBase(config, request);
    const path = base.pathname.replace(/\/+$/, '');
    reply.header('cache-control', 'public, max-age=300');
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
