/**
 * The collector as a functions-framework HTTP function (target `collect`), bundled by package-function.ts and
 * deployed as a 2nd-gen Cloud Run function. It builds the collector exactly as `publisher/src/server.ts` does
 * (config read once from the environment, Pub/Sub transport) and hands each request to it with `app.inject()`:
 * functions-framework has already read (and gunzipped) the body, so Fastify gets the decoded bytes, not the socket.
 */
import { http } from '@google-cloud/functions-framework';
import { buildApp, createLogger, createTransport, loadConfig } from '@sluice/publisher';
import type { Request, Response } from 'express';
import type { FastifyInstance } from 'fastify';

export const COLLECTOR_TARGET = 'collect';

let collector: Promise<FastifyInstance> | undefined;

async function start(): Promise<FastifyInstance> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const transport = await createTransport(config, logger);
  const { app } = buildApp(config, { transport, logger });
  await app.ready();
  const close = (): void => void app.close();
  process.once('SIGTERM', close);
  return app;
}

/** Headers that describe the original encoding/length, which no longer hold for the decoded body. */
const DROPPED = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'connection']);

http(COLLECTOR_TARGET, async (req: Request, res: Response) => {
  collector ??= start();
  let app: FastifyInstance;
  try {
    app = await collector;
  } catch (error) {
    collector = undefined;
    createLogger('error').error({ err: error }, 'collector failed to start');
    res
      .status(503)
      .set('retry-after', '5')
      .json({ code: 'SLUICE_ERR_INFRA_COLLECTOR_START', retryable: true });
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !DROPPED.has(name)) headers[name] = value;
  }
  const rawBody = (req as Request & { rawBody?: Buffer }).rawBody;
  const response = await app.inject({
    method: req.method as 'GET',
    url: req.originalUrl,
    headers,
    ...(rawBody && rawBody.length > 0 ? { payload: rawBody } : {}),
    remoteAddress: req.socket.remoteAddress ?? '127.0.0.1',
  });
  res.status(response.statusCode);
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && !DROPPED.has(name)) res.setHeader(name, value);
  }
  res.end(response.rawPayload);
});
