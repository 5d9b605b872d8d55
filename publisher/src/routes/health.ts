import type { FastifyInstance } from 'fastify';
import type { Transport } from '../transports/transport.ts';

/** `GET /healthz` (the process serves) and `GET /readyz` (the transport's broker is reachable). */
export function registerHealthRoutes(app: FastifyInstance, transport: Transport): void {
  app.get('/healthz', { config: { ops: true } }, async () => ({ ok: true }));
  app.get('/readyz', { config: { ops: true } }, async (_request, reply) => {
    const ready = await transport.ready();
    return reply.code(ready ? 200 : 503).send({ ok: ready, transport: transport.name });
  });
}
