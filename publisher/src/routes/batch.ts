import type { FastifyInstance } from 'fastify';
import { type IngestDeps, ingest } from '../ingest.ts';

/** `POST /v1/batch` (and `/v1/b`, `/v1/import`): Segment's batch envelope `{ batch: [...], context?, sentAt? }`. */
export function registerBatchRoute(app: FastifyInstance, deps: IngestDeps): void {
  for (const path of ['/v1/batch', '/v1/b', '/v1/import']) {
    app.post(path, async (request) => ingest(deps, request, request.body, { kind: 'batch' }));
  }
}
