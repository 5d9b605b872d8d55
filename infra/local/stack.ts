import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LOADER_DUCKDB_ENV, LOADER_NODE_OPTIONS } from '../../functions/src/loader-process.ts';
import { type Child, type ChildSpec, startChild } from './child-process.ts';
import { systemClock } from './clock.ts';
import type { LocalConfig, LocalTransport } from './config.ts';
import { emulatorDataDir, requireEmulatorTools } from './emulator.ts';
import { type SupervisedEmulator, superviseEmulator } from './emulator-supervisor.ts';
import { LocalError } from './errors.ts';
import { startOnFreePort } from './free-port.ts';
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
  /**
   * `127.0.0.1:<port>` through which the collector and the stand-in reach the Pub/Sub emulator (pubsub transport
   * only): the supervisor's gate, open only while topic and subscription exist.
   */
  emulatorHost: string | undefined;
  /** The emulator's supervisor (pubsub transport only): its current process, how often it recovered. */
  emulator: SupervisedEmulator | undefined;
  /** Every child process group the stack started (restarted emulators included). */
  readonly processes: readonly StackProcess[];
  /**
   * Resolves when the collector or the loader exits while the stack is not stopping (it crashed, or was killed):
   * the stack no longer works, and `npm run dev` says so and exits non-zero. Never rejects.
   */
  childExited: Promise<{ name: string; reason: string }>;
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
    loaderServer: join(repoRoot, 'infra', 'local', 'loader-server.ts'),
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

/** Fails with SLUICE_ERR_LOCAL_PORT_IN_USE when something already listens on `host:port`. */
async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') {
        resolve();
        return;
      }
      reject(
        new LocalError(
          'SLUICE_ERR_LOCAL_PORT_IN_USE',
          `${host}:${port} is already in use by another process (an earlier \`npm run dev\`?): stop it, or set` +
            ' SLUICE_PORT to another port (0 picks a free one)',
        ),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

const loaderUrlOf = (port: number): string => `http://127.0.0.1:${port}/`;

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
 * Starts the local topology on one machine: Pub/Sub emulator (supervised, behind its gate) → storage-subscription
 * stand-in (in this process) → loader (functions/dist served on 127.0.0.1 by loader-server.ts) → DuckDB, fed by
 * the collector (publisher/src/server.ts). With `transport: 'spool'` (the default) the emulator and stand-in are
 * skipped and the collector's spool transport writes the window files and POSTs the CloudEvents itself.
 * Every child runs under child-guard.ts: if this process dies, however it dies, its children end with it.
 */
export async function startStack(options: StackOptions): Promise<LocalStack> {
  const { config, logger } = options;
  const transport = options.transport ?? config.transport;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const paths = artifactPaths(config.repoRoot);
  if (options.loaderSource) paths.loaderBundle = options.loaderSource;
  requireFile(paths.loaderBundle, 'SLUICE_ERR_LOCAL_LOADER_BUNDLE_MISSING');

  requireFile(paths.tsx, 'SLUICE_ERR_LOCAL_BINARY_MISSING');
  if (transport === 'pubsub') requireEmulatorTools(config.childEnv);

  const rawBucketDir = join(config.bucketsDir, config.rawBucket);
  mkdirSync(rawBucketDir, { recursive: true });
  mkdirSync(config.logsDir, { recursive: true });

  const children: Child[] = [];
  let emulator: SupervisedEmulator | undefined;
  let standIn: StorageSubscription | undefined;

  let stopping: Promise<void> | undefined;
  let reportExit: (exit: { name: string; reason: string }) => void = () => undefined;
  const childExited = new Promise<{ name: string; reason: string }>((resolve) => {
    reportExit = resolve;
  });
  const watch = (child: Child): Child => {
    child.onExit((reason) => {
      if (!stopping) reportExit({ name: child.name, reason });
    });
    return child;
  };
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
    if (emulator) await timed('emulator', emulator.stop);
    for (const child of children.filter((c) => c !== collector).reverse()) {
      await timed(child.name, () => child.stop());
    }
    if (problems.length > 0) throw problems[0];
  };

  /**
   * Starts child `spec(port)` of this stack on a port from `ports` (`startOnFreePort`): kept in `children` from the
   * start (a failed start still stops it), dropped if it lost its port to another process, watched once it answers.
   */
  const startOnPort = async (
    spec: (port: number) => ChildSpec,
    ready: (port: number, child: Child) => Promise<void>,
    ports: { ports?: () => Promise<number>; attempts?: number } = {},
  ): Promise<{ child: Child; port: number }> => {
    const started = await startOnFreePort({
      ...ports,
      start: (port) => {
        const child = startChild(spec(port));
        children.push(child);
        return child;
      },
      ready,
      onRetry: (port, attempt, child) => {
        logger.warn(
          { port, attempt },
          `${child.name}: its port was taken before it listened; starting it on another`,
        );
        children.splice(children.indexOf(child), 1);
      },
    });
    watch(started.child);
    return started;
  };

  try {
    const baseEnv: Record<string, string> = {
      ...config.childEnv,
      SLUICE_DATA_DIR: config.dataDir,
      SLUICE_DUCKDB_PATH: config.duckdbPath,
      SLUICE_BUCKETS_DIR: config.bucketsDir,
      SLUICE_RAW_BUCKET: config.rawBucket,
      SLUICE_DESTINATION: config.childEnv.SLUICE_DESTINATION ?? 'duckdb',
    };
    // On a free port, and on another if a process took that one before the loader listened.
    const loaderStart = startOnPort(
      (port) => ({
        name: 'loader',
        command: process.execPath,
        args: ['--import', 'tsx', paths.loaderServer, paths.loaderBundle, 'loadEvents', String(port)],
        env: { ...baseEnv, ...LOADER_DUCKDB_ENV, NODE_OPTIONS: LOADER_NODE_OPTIONS },
        cwd: config.repoRoot,
        logFile: join(config.logsDir, 'loader.log'),
      }),
      (port, child) => waitListening(loaderUrlOf(port), child, timeoutMs),
    ).then(({ port }) => loaderUrlOf(port));

    let loaderUrl: string;
    if (transport === 'pubsub') {
      const names = {
        project: config.pubsubProject,
        topic: config.pubsubTopic,
        subscription: config.pubsubSubscription,
      };
      const started = superviseEmulator({
        emulator: {
          project: config.pubsubProject,
          env: config.childEnv,
          cwd: config.repoRoot,
          logFile: join(config.logsDir, 'pubsub-emulator.log'),
          dataDir: emulatorDataDir(config.dataDir),
          startTimeoutMs: timeoutMs,
        },
        names,
        logger: logger.child({ component: 'emulator-supervisor' }),
      });
      const [emulatorStart, loaderStarted] = await Promise.allSettled([started, loaderStart]);
      if (emulatorStart.status === 'rejected') throw emulatorStart.reason;
      emulator = emulatorStart.value;
      if (loaderStarted.status === 'rejected') throw loaderStarted.reason;
      loaderUrl = loaderStarted.value;
      standIn = createStorageSubscription({
        source: pubsubMessageSource({
          apiEndpoint: emulator.host,
          onReopen: (attempt) => logger.warn({ attempt }, 'stand-in: reopening the subscription'),
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
      loaderUrl = await loaderStart;
    }

    const wantedPort = options.collectorPort ?? config.port;
    if (wantedPort !== 0) await assertPortFree(config.host, wantedPort);
    const connectHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const collectorEnv = (port: number): Record<string, string> => {
      const env: Record<string, string> = {
        ...baseEnv,
        SLUICE_HOST: config.host,
        SLUICE_PORT: String(port),
        SLUICE_TRANSPORT: transport,
        SLUICE_PUBSUB_PROJECT: config.pubsubProject,
        SLUICE_PUBSUB_TOPIC: config.pubsubTopic,
        SLUICE_WINDOW_SECONDS: String(config.windowSeconds),
        SLUICE_SPOOL_MAX_FILE_BYTES: String(config.windowMaxBytes),
        SLUICE_LOADER_URL: loaderUrl,
      };
      if (config.addLocalWriteKey) env.SLUICE_WRITE_KEY = config.writeKey;
      if (emulator) env.PUBSUB_EMULATOR_HOST = emulator.host;
      else delete env.PUBSUB_EMULATOR_HOST;
      return env;
    };
    // On the port asked for, or (port 0) on a free one, and on another if a process took it first.
    const { port } = await startOnPort(
      (port) => ({
        name: 'collector',
        command: process.execPath,
        args: ['--import', 'tsx', paths.collectorEntry],
        env: collectorEnv(port),
        cwd: config.repoRoot,
        logFile: join(config.logsDir, 'collector.log'),
      }),
      async (port, child) => {
        await waitHttpOk(`http://${connectHost}:${port}/readyz`, child, timeoutMs);
        // Another process may have taken the port between the check and the collector's listen: then our
        // collector exited (EADDRINUSE) and what answered is someone else.
        if (child.exitReason() !== undefined) {
          throw new LocalError(
            'SLUICE_ERR_LOCAL_PORT_IN_USE',
            `collector ${child.exitReason()} while another process answered on port ${port} (log: ${child.logFile})`,
          );
        }
      },
      wantedPort === 0 ? {} : { ports: () => Promise.resolve(wantedPort), attempts: 1 },
    );
    const collectorUrl = `http://${connectHost}:${port}`;

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
      emulator,
      get processes() {
        return [...children, ...(emulator?.children ?? [])].map((c) => ({
          name: c.name,
          pid: c.pid,
          logFile: c.logFile,
        }));
      },
      childExited,
      standIn,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch((e: unknown) => logger.error({ err: e }, 'cleanup after failed start'));
    throw error;
  }
}
