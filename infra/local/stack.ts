import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LOADER_DUCKDB_ENV, LOADER_NODE_OPTIONS } from '../../functions/src/loader-process.ts';
import { type Child, startChild } from './child-process.ts';
import { systemClock } from './clock.ts';
import type { LocalConfig, LocalTransport } from './config.ts';
import { createTopicAndSubscription, type Emulator, emulatorDataDir, startEmulator } from './emulator.ts';
import { LocalError } from './errors.ts';
import { freePort } from './free-port.ts';
import { localBucket } from './local-bucket.ts';
import { pubsubMessageSource } from './pubsub-source.ts';
import { createStorageSubscription, type StorageSubscription } from './storage-subscription.ts';
import { waitFor } from './wait-for.ts';

export interface StackOptions {
  config: LocalConfig;
  logger: Logger;
  /** Default: `config.transport`. `spool` runs no emulator and no stand-in: the collector writes the windows. */
  transport?: LocalTransport;
  /** Default: `config.port`; 0 picks a free port. */
  collectorPort?: number;
  startTimeoutMs?: number;
  /** Default: `<repo>/functions/dist/index.js`. Another CloudEvent function bundle (tests, experiments). */
  loaderSource?: string;
}

export interface StackProcess {
  name: string;
  /** Also its process group id. */
  pid: number;
  logFile: string;
}

export interface LocalStack {
  transport: LocalTransport;
  collectorUrl: string;
  writeKey: string;
  duckdbPath: string;
  dataDir: string;
  rawBucketDir: string;
  loaderUrl: string;
  /** `127.0.0.1:<port>` of the Pub/Sub emulator (pubsub transport only). */
  emulatorHost: string | undefined;
  /** Every child process group the stack started. */
  processes: readonly StackProcess[];
  /** The stand-in (pubsub transport only): `flush()` closes the open window now. */
  standIn: StorageSubscription | undefined;
  /** Stops everything (collector first, so it drains into the pipeline) and waits until every group is gone. */
  stop(): Promise<void>;
}

/** The paths of the built artifacts and binaries the stack runs (infra takes them by path, never imports them). */
export function artifactPaths(repoRoot: string) {
  return {
    collectorEntry: join(repoRoot, 'publisher', 'src', 'server.ts'),
    loaderBundle: join(repoRoot, 'functions', 'dist', 'index.js'),
    functionsFramework: join(repoRoot, 'node_modules', '.bin', 'functions-framework'),
    tsx: join(repoRoot, 'node_modules', '.bin', 'tsx'),
  };
}

function requireFile(
  path: string,
  code: 'SLUICE_ERR_LOCAL_LOADER_BUNDLE_MISSING' | 'SLUICE_ERR_LOCAL_BINARY_MISSING',
) {
  if (!existsSync(path)) {
    const hint =
      code === 'SLUICE_ERR_LOCAL_LOADER_BUNDLE_MISSING' ? 'run `npm run build -w functions`' : 'run `npm ci`';
    throw new LocalError(code, `${path} does not exist: ${hint}`);
  }
}

async function waitHttpOk(url: string, child: Child, timeoutMs: number): Promise<void> {
  try {
    await waitFor(
      async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        return response.ok ? true : undefined;
      },
      { what: `${child.name} at ${url}`, timeoutMs, intervalMs: 100, abandon: () => child.exitReason() },
    );
  } catch (cause) {
    throw new LocalError(
      'SLUICE_ERR_LOCAL_CHILD_START',
      `${child.name} did not become ready (log: ${child.logFile}):\n${child.tail()}`,
      { cause },
    );
  }
}

async function waitListening(url: string, child: Child, timeoutMs: number): Promise<void> {
  try {
    await waitFor(
      async () => {
        const response = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        return true;
      },
      { what: `${child.name} at ${url}`, timeoutMs, intervalMs: 100, abandon: () => child.exitReason() },
    );
  } catch (cause) {
    throw new LocalError(
      'SLUICE_ERR_LOCAL_CHILD_START',
      `${child.name} did not start listening (log: ${child.logFile}):\n${child.tail()}`,
      { cause },
    );
  }
}

/**
 * Starts the local topology on one machine: Pub/Sub emulator → storage-subscription stand-in (in this process)
 * → loader (functions-framework serving functions/dist) → DuckDB, fed by the collector (publisher/src/server.ts).
 * With `transport: 'spool'` the emulator and stand-in are skipped and the collector's spool transport writes the
 * window files and POSTs the CloudEvents itself.
 */
export async function startStack(options: StackOptions): Promise<LocalStack> {
  const { config, logger } = options;
  const transport = options.transport ?? config.transport;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const paths = artifactPaths(config.repoRoot);
  if (options.loaderSource) paths.loaderBundle = options.loaderSource;
  requireFile(paths.loaderBundle, 'SLUICE_ERR_LOCAL_LOADER_BUNDLE_MISSING');
  requireFile(paths.functionsFramework, 'SLUICE_ERR_LOCAL_BINARY_MISSING');
  requireFile(paths.tsx, 'SLUICE_ERR_LOCAL_BINARY_MISSING');

  const rawBucketDir = join(config.bucketsDir, config.rawBucket);
  mkdirSync(rawBucketDir, { recursive: true });
  mkdirSync(config.logsDir, { recursive: true });

  const children: Child[] = [];
  let emulator: Emulator | undefined;
  let standIn: StorageSubscription | undefined;

  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= stopEverything();
    return stopping;
  };
  const stopEverything = async (): Promise<void> => {
    const problems: unknown[] = [];
    const timed = async (name: string, stop: () => Promise<void>): Promise<void> => {
      const started = Date.now();
      await stop().catch((e: unknown) => problems.push(e));
      logger.info({ component: name, ms: Date.now() - started }, 'stopped');
    };
    const collector = children.find((c) => c.name === 'collector');
    if (collector) await timed(collector.name, () => collector.stop(20_000));
    if (standIn) await timed('storage-subscription', standIn.stop);
    for (const child of children.filter((c) => c !== collector).reverse()) {
      await timed(child.name, () => child.stop());
    }
    if (problems.length > 0) throw problems[0];
  };

  try {
    const loaderPort = await freePort();
    const baseEnv: Record<string, string> = {
      ...config.childEnv,
      SLUICE_DATA_DIR: config.dataDir,
      SLUICE_DUCKDB_PATH: config.duckdbPath,
      SLUICE_BUCKETS_DIR: config.bucketsDir,
      SLUICE_RAW_BUCKET: config.rawBucket,
      SLUICE_DESTINATION: config.childEnv.SLUICE_DESTINATION ?? 'duckdb',
    };
    const loader = startChild({
      name: 'loader',
      command: paths.functionsFramework,
      args: [
        `--source=${paths.loaderBundle}`,
        '--target=loadEvents',
        '--signature-type=cloudevent',
        `--port=${loaderPort}`,
      ],
      env: { ...baseEnv, ...LOADER_DUCKDB_ENV, NODE_OPTIONS: LOADER_NODE_OPTIONS, PORT: String(loaderPort) },
      cwd: config.repoRoot,
      logFile: join(config.logsDir, 'loader.log'),
    });
    children.push(loader);
    const loaderUrl = `http://127.0.0.1:${loaderPort}/`;

    if (transport === 'pubsub') {
      const started = startEmulator({
        project: config.pubsubProject,
        env: config.childEnv,
        cwd: config.repoRoot,
        logFile: join(config.logsDir, 'pubsub-emulator.log'),
        dataDir: emulatorDataDir(config.dataDir),
        startTimeoutMs: timeoutMs,
      });
      const [emulatorStart, loaderStart] = await Promise.allSettled([
        started,
        waitListening(loaderUrl, loader, timeoutMs),
      ]);
      if (emulatorStart.status === 'rejected') throw emulatorStart.reason;
      emulator = emulatorStart.value;
      children.push(emulator.child);
      if (loaderStart.status === 'rejected') throw loaderStart.reason;
      await createTopicAndSubscription(emulator.host, {
        project: config.pubsubProject,
        topic: config.pubsubTopic,
        subscription: config.pubsubSubscription,
      });
      standIn = createStorageSubscription({
        source: pubsubMessageSource({
          apiEndpoint: emulator.host,
          projectId: config.pubsubProject,
          subscription: config.pubsubSubscription,
          maxLeaseSeconds: Math.ceil(config.windowSeconds * 2 + 60),
          maxOutstandingMessages: 100_000,
          maxOutstandingBytes: Math.max(config.windowMaxBytes * 2, 16 * 1024 * 1024),
        }),
        sink: localBucket(config.bucketsDir, config.rawBucket, systemClock),
        windowSeconds: config.windowSeconds,
        maxBytes: config.windowMaxBytes,
        loaderUrl,
        logger: logger.child({ component: 'storage-subscription' }),
      });
      standIn.start();
    } else {
      await waitListening(loaderUrl, loader, timeoutMs);
    }

    const port = (options.collectorPort ?? config.port) || (await freePort());
    const collectorEnv: Record<string, string> = {
      ...baseEnv,
      SLUICE_HOST: config.host,
      SLUICE_PORT: String(port),
      SLUICE_WRITE_KEY: config.writeKey,
      SLUICE_TRANSPORT: transport,
      SLUICE_PUBSUB_PROJECT: config.pubsubProject,
      SLUICE_PUBSUB_TOPIC: config.pubsubTopic,
      SLUICE_WINDOW_SECONDS: String(config.windowSeconds),
      SLUICE_SPOOL_MAX_FILE_BYTES: String(config.windowMaxBytes),
      SLUICE_LOADER_URL: loaderUrl,
    };
    if (emulator) collectorEnv.PUBSUB_EMULATOR_HOST = emulator.host;
    else delete collectorEnv.PUBSUB_EMULATOR_HOST;
    const collector = startChild({
      name: 'collector',
      command: process.execPath,
      args: ['--import', 'tsx', paths.collectorEntry],
      env: collectorEnv,
      cwd: config.repoRoot,
      logFile: join(config.logsDir, 'collector.log'),
    });
    children.push(collector);
    const connectHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const collectorUrl = `http://${connectHost}:${port}`;
    await waitHttpOk(`${collectorUrl}/readyz`, collector, timeoutMs);

    logger.info({ collectorUrl, loaderUrl, emulatorHost: emulator?.host, transport }, 'local stack up');
    return {
      transport,
      collectorUrl,
      writeKey: config.writeKey,
      duckdbPath: config.duckdbPath,
      dataDir: config.dataDir,
      rawBucketDir,
      loaderUrl,
      emulatorHost: emulator?.host,
      processes: children.map((c) => ({ name: c.name, pid: c.pid, logFile: c.logFile })),
      standIn,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch((e: unknown) => logger.error({ err: e }, 'cleanup after failed start'));
    throw error;
  }
}
