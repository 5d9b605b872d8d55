import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { createAuthHeaderCache } from './auth.ts';
import { MAX_REQUEST_BYTES, registerBodyParser } from './body.ts';
import { type Clock, systemClock } from './clock.ts';
import type { CollectorConfig } from './config.ts';
import { registerCors } from './cors.ts';
import { registerErrorHandler } from './error-handler.ts';
import { CollectorError } from './errors.ts';
import type { IngestDeps } from './ingest.ts';
import { clientAddress } from './ip.ts';
import { createKeyLookupGuard } from './key-guard.ts';
import type { Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { PublishGate } from './publish-gate.ts';
import { TokenBuckets } from './rate-limit.ts';
import { redactUrl } from './redact.ts';
import { registerBatchRoute } from './routes/batch.ts';
import { registerEventRoutes } from './routes/event.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerJitsuRoutes } from './routes/jitsu.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerRudderStackRoutes } from './routes/rudderstack.ts';
import { registerSettingsRoute } from './routes/settings.ts';
import {
  gcsSuppressionReader,
  localSuppressionReader,
  SuppressionCache,
  type SuppressionReader,
} from './suppression-cache.ts';
import type { Transport } from './transports/transport.ts';

export interface AppDeps {
  transport: Transport;
  clock?: Clock;
  /** The server's pino logger; none (silent) in tests. */
  logger?: Logger;
  /** The suppression list's reader (default from `config.suppression`: local file or Cloud Storage). */
  suppressionReader?: SuppressionReader;
}

export interface CollectorApp {
  app: FastifyInstance;
  gate: PublishGate;
  metrics: Metrics;
}

/** Fastify's request log line, with the write key taken out of the URL (settings path, `?writeKey=`). */
function requestForLog(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * Builds the collector (routes, hooks, error handler) over an injected transport and clock. Does not listen.
 * Closing the app drains in-flight publishes and closes the transport.
 */
export function buildApp(config: CollectorConfig, deps: AppDeps): CollectorApp {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger?.child({}, { serializers: { req: requestForLog } }) as
      | FastifyBaseLogger
      | undefined,
    // analytics-java posts to `/v1/import/`: every route answers with and without a trailing slash.
    routerOptions: { ignoreTrailingSlash: true },
    // Fastify's two info lines per request cost more than validating an event; /metrics counts requests instead.
    // They come back with SLUICE_LOG_LEVEL=debug (or trace). Errors are logged by the error handler either way.
    logController: new LogController({
      disableRequestLogging: !(deps.logger?.isLevelEnabled('debug') ?? false),
    }),
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(config.trustProxy)
        : config.trustProxy,
    bodyLimit: MAX_REQUEST_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: config.publishTimeoutMs + 30_000,
  });
  const clock = deps.clock ?? systemClock;
  const metrics = new Metrics();
  const gate = new PublishGate(
    deps.transport,
    {
      timeoutMs: config.publishTimeoutMs,
      maxInflightBytes: config.maxInflightBytes,
      retryAfterSeconds: config.retryAfterSeconds,
    },
    metrics,
  );
  const ipLimiter = new TokenBuckets(config.rateLimit.perIpRequests);
  const reader = deps.suppressionReader ?? suppressionReaderOf(config);
  const suppression = reader
    ? new SuppressionCache(reader, {
        refreshMs: config.suppression.refreshMs,
        retryMs: 5000,
        clock,
        ...(deps.logger ? { logger: deps.logger } : {}),
      })
    : undefined;
  metrics.suppressionFailures = () => suppression?.failures ?? 0;
  const ingestDeps: IngestDeps = {
    config,
    clock,
    gate,
    metrics,
    keyLimiter: new TokenBuckets(config.rateLimit.perKeyEvents),
    ...(suppression ? { suppression } : {}),
  };

  app.decorateRequest('sourceId', undefined);
  app.decorate('authHeaderCache', createAuthHeaderCache());
  registerErrorHandler(app, metrics);
  registerBodyParser(app, MAX_REQUEST_BYTES);
  registerCors(app, config);
  if (ipLimiter.enabled) {
    app.addHook('onRequest', async (request) => {
      if (request.method !== 'POST') return;
      const wait = ipLimiter.take(clientAddress(request), 1, clock.now().getTime());
      if (wait > 0)
        throw new CollectorError('SLUICE_ERR_PUBLISHER_RATE_LIMITED', { retryAfterSeconds: wait });
    });
  }
  // Failed write-key lookups per client address (key-guard.ts): a throttled address is refused before its body is
  // read; the lookup itself checks again and counts (auth.ts).
  const keyLookupGuard = createKeyLookupGuard(config.authFailureLimit, clock);
  app.decorate('keyLookupGuard', keyLookupGuard);
  if (keyLookupGuard) {
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.method === 'OPTIONS' || request.routeOptions.config.ops === true) return done();
      try {
        keyLookupGuard.assertAllowed(request);
        done();
      } catch (error) {
        done(error as Error);
      }
    });
  }
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.routeOptions.url ?? 'unmatched', reply.statusCode);
    done();
  });

  registerEventRoutes(app, ingestDeps);
  registerBatchRoute(app, ingestDeps);
  registerSettingsRoute(app, config);
  registerRudderStackRoutes(app, ingestDeps);
  registerJitsuRoutes(app, ingestDeps);
  registerHealthRoutes(app, deps.transport);
  registerMetricsRoute(app, metrics);

  app.addHook('onClose', async () => {
    await gate.drain(config.drainTimeoutMs);
    await deps.transport.close();
  });
  return { app, gate, metrics };
}

/** The configured reader of the suppression list, or none (`SLUICE_SUPPRESSION_SOURCE=none`). */
function suppressionReaderOf(config: CollectorConfig): SuppressionReader | undefined {
  const { source, bucket, object, storageEndpoint } = config.suppression;
  switch (source) {
    case 'none':
      return undefined;
    case 'local':
      return localSuppressionReader(config.spool.bucketsDir, bucket, object);
    case 'gcs':
      return gcsSuppressionReader(bucket, object, storageEndpoint);
    default: {
      const never: never = source;
      return never;
    }
  }
}
