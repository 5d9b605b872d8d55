import type { FastifyInstance } from 'fastify';
import { isRecord } from '../enrich.ts';
import { type IngestDeps, ingest } from '../ingest.ts';

/** The event types `@jitsu/js` posts, one per path (`/api/s/<type>`, and `/api/s/s2s/<type>` server to server). */
const JITSU_TYPES = ['page', 'track', 'identify', 'group', 'alias', 'screen'] as const;

/**
 * Jitsu's ingest protocol as `@jitsu/js` speaks it: `POST /api/s/{page,track,identify,group,...}` with a
 * Segment-shaped event as JSON and the write key in `X-Write-Key` (the body's `writeKey` is masked, `id:***`, and
 * the header wins; auth.ts). The path fixes the type, as on `/v1/<type>`. Jitsu reads only `destinations` from the
 * answer, so Segment's `{ success, accepted }` serves.
 */
export function registerJitsuRoutes(app: FastifyInstance, deps: IngestDeps): void {
  for (const type of JITSU_TYPES) {
    for (const path of [`/api/s/${type}`, `/api/s/s2s/${type}`]) {
      app.post(path, async (request) => {
        const body = request.body;
        if (isRecord(body)) body.type = type;
        return ingest(deps, request, body, { kind: 'single', bytes: request.bodyBytes });
      });
    }
  }
}
