// Entry point: `tsx publisher/src/server.ts`. Reads the config once, listens on SLUICE_HOST:SLUICE_PORT, logs the
// URL, and on SIGTERM/SIGINT stops accepting, finishes in-flight requests, flushes the transport and exits 0.
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { createTransport } from './transports/create.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    const logger = createLogger('info');
    if (error instanceof ConfigError) logger.fatal({ problems: error.problems }, error.message);
    else logger.fatal({ err: error }, 'cannot load configuration');
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  const transport = await createTransport(config, logger);
  const { app } = buildApp(config, { transport, logger });
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info(
    {
      url: address,
      transport: transport.name,
      sources: [...new Set(config.writeKeys.values())],
      ...(config.transport === 'spool'
        ? { bucketDir: `${config.spool.bucketsDir}/${config.spool.bucket}` }
        : {
            topic: config.pubsub.topic,
            project: config.pubsub.projectId,
            emulator: config.pubsub.emulatorHost,
          }),
    },
    `sluice collector listening on ${address}`,
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('drain timed out; exiting');
      process.exit(1);
    }, config.drainTimeoutMs + 5000);
    force.unref();
    app.close().then(
      () => {
        logger.info('drained; bye');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while draining');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
