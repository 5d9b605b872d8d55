import type { FastifyInstance } from 'fastify';
import { authenticate } from '../auth.ts';
import { assertOrigin } from '../cors.ts';
import { type IngestDeps, ingest } from '../ingest.ts';

/**
 * RudderStack's JS SDK (v3) endpoints beyond the Segment-shaped `/v1/*` ones it shares:
 * - `GET /sourceConfig/?p=&v=&writeKey=...`: the source configuration it fetches on `load()` from `configUrl`
 *   (isValidSourceConfig: `source.id`, `source.config`, `source.destinations[]`). Sluice has no device-mode
 *   destinations and turns off the SDK's error and metrics reporting to RudderStack's own service.
 * - `POST /beacon/v1/batch?writeKey=...`: its BeaconQueue (`useBeacon: true`, and page hide), a `{ batch, sentAt }`
 *   text/plain body from `navigator.sendBeacon`, which cannot set headers: the key is in the query string.
 * Both take the key from the query (`writeKeyInQuery`); the request logger redacts it (redact.ts).
 */
export function registerRudderStackRoutes(app: FastifyInstance, deps: IngestDeps): void {
  const { config } = deps;
  app.get('/sourceConfig', { config: { writeKeyInQuery: true } }, async (request, reply) => {
    const source = authenticate(request, undefined, config.writeKeys);
    assertOrigin(config, request, source.sourceId);
    reply.header('cache-control', 'private, max-age=300');
    return {
      isHosted: false,
      source: {
        id: source.sourceId,
        name: source.sourceId,
        enabled: true,
        workspaceId: 'sluice',
        config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
        destinations: [],
      },
    };
  });
  app.post('/beacon/v1/batch', { config: { writeKeyInQuery: true } }, async (request) =>
    ingest(deps, request, request.body, { kind: 'batch' }),
  );
}
