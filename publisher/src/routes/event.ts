import { EVENT_TYPES, type EventType } from '@sluice/sdk/protocol';
import type { FastifyInstance } from 'fastify';
import { isRecord } from '../enrich.ts';
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

/** `{ success: true, accepted: 1 }` as the serializer writes it: a single event's answer, serialized once. */
const ACCEPTED_ONE = JSON.stringify({ success: true, accepted: 1 });

/**
 * `POST /v1/{track,identify,page,screen,group,alias}` and their short forms: one event per request. The
 * route fixes the type: a body without `type` gets it from the path.
 */
export function registerEventRoutes(app: FastifyInstance, deps: IngestDeps): void {
  for (const type of EVENT_TYPES) {
    for (const path of [`/v1/${type}`, `/v1/${SHORT[type]}`]) {
      app.post(path, (request, reply) => {
        const body = request.body;
        // Set in place: same keys in the same order as `{ ...body, type }` (an existing `type` is replaced where it
        // stands, a missing one is appended), without copying the parsed body.
        if (isRecord(body)) body.type = type;
        return ingest(deps, request, body, { kind: 'single', bytes: request.bodyBytes }).then(() => {
          reply.header('content-type', 'application/json; charset=utf-8');
          return ACCEPTED_ONE;
        });
      });
    }
  }
}
