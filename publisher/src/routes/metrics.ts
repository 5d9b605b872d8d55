import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.ts';

/** `GET /metrics`: Prometheus text exposition. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { ops: true } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  );
}
