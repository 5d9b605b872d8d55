import { EVENT_TYPES, type EventType } from '@sluice/sdk/protocol';
import type { FastifyInstance } from 'fastify';
import { type IngestDeps, ingest } from '../ingest.ts';

/** The one-letter paths analytics.js posts to (`/v1/t` ...), as `text/plain`. */
const SHORT: Record<EventType, string> = {
  track: 't',
  identify: 'i',
  page: 'p',
  screen: 's',
  group: 'g',
  alias: 'a',
};

/**
 * `POST /v1/{track,identify,page,screen,group,alias}` and their short forms: one event per request. The
 * route fixes the type: a body without `type` gets it from the path.
 */
export function registerEventRoutes(app: FastifyInstance, deps: IngestDeps): void {
  for (const type of EVENT_TYPES) {
    for (const path of [`/v1/${type}`, `/v1/${SHORT[type]}`]) {
      app.post(path, async (request) => {
        const body = request.body;
        const event =
          typeof body === 'object' && body !== null && !Array.isArray(body)
            ? { ...(body as Record<string, unknown>), type }
            : body;
        return ingest(deps, request, event, { kind: 'single', bytes: request.bodyBytes });
      });
    }
  }
}
