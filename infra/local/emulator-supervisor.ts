import type { Logger } from 'pino';
import type { Child } from './child-process.ts';
import {
  createTopicAndSubscription,
  type Emulator,
  type EmulatorOptions,
  startEmulator,
  subscriptionExists,
  type TopologyNames,
} from './emulator.ts';
import { type GateProxy, startGateProxy } from './gate-proxy.ts';

export interface EmulatorSupervisorOptions {
  emulator: EmulatorOptions;
  names: TopologyNames;
  logger: Logger;
  /** How often the topology is checked while the emulator runs. Default 2 s. */
  checkIntervalMs?: number;
  /** How long one topology check may take before it counts as failed. Default 10 s. */
  checkTimeoutMs?: number;
}

export interface SupervisedEmulator {
  /** `127.0.0.1:<port>` of the gate: PUBSUB_EMULATOR_HOST for the collector and the stand-in. */
  readonly host: string;
  /** `127.0.0.1:<port>` of the emulator itself, behind the gate (undefined while it restarts). */
  readonly upstream: string | undefined;
  /** The emulator process now running (undefined while it restarts). */
  readonly child: Child | undefined;
  /** Every emulator process started, oldest first (for the no-orphans check). */
  readonly children: readonly Child[];
  /** How many times the emulator or its topology was brought back. */
  readonly recoveries: number;
  /** Resolves once the gate is open again (topic and subscription exist). */
  whenReady(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps the local Pub/Sub topology whole: the emulator keeps nothing on disk, so a restarted emulator has neither
 * topic nor subscription, and a topic without its subscription acknowledges publishes that nobody will ever
 * receive. The supervisor (the local stack, not the collector, which on GCP holds only publish rights) puts a
 * gate in front of the emulator (gate-proxy.ts) and opens it only while both exist:
 *   - the emulator exits -> the gate closes at once, the emulator is started again (backoff while it fails), topic
 *     and subscription are created, then the gate opens;
 *   - every `checkIntervalMs` the subscription is looked up on the emulator itself; gone -> gate closed, topology
 *     recreated, gate opened.
 * The only publishes that can still be lost are those the emulator acknowledged before it died and had not yet
 * delivered (docs/local.md, "What a crash loses").
 */
/** Failed topology checks in a row after which a running emulator is taken as hung and restarted. */
const UNREACHABLE_CHECKS = 3;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function superviseEmulator(options: EmulatorSupervisorOptions): Promise<SupervisedEmulator> {
  const { logger, names } = options;
  const gate: GateProxy = await startGateProxy();
  const children: Child[] = [];
  let current: Emulator | undefined;
  let stopping = false;
  let recoveries = 0;
  let repairing: Promise<void> | undefined;
  let waiters: (() => void)[] = [];

  const openGate = (host: string): void => {
    gate.open(host);
    for (const resolve of waiters) resolve();
    waiters = [];
  };

  const launch = async (): Promise<void> => {
    const emulator = await startEmulator(options.emulator);
    children.push(emulator.child);
    current = emulator;
    emulator.child.onExit((reason) => {
      if (stopping || current !== emulator) return;
      current = undefined;
      gate.close();
      logger.warn({ reason }, 'Pub/Sub emulator exited; publishing held, restarting it');
      repair();
    });
    await createTopicAndSubscription(emulator.host, names);
    if (current === emulator && !stopping) openGate(emulator.host);
  };

  const repair = (): void => {
    repairing ??= (async () => {
      for (let attempt = 1; !stopping; attempt += 1) {
        try {
          if (!current) await launch();
          else {
            await createTopicAndSubscription(current.host, names);
            openGate(current.host);
          }
          recoveries += 1;
          logger.warn({ attempt }, 'Pub/Sub topology restored (topic and subscription); publishing resumed');
          return;
        } catch (error) {
          logger.error({ err: error, attempt }, 'Pub/Sub emulator recovery failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** attempt)));
        }
      }
    })().finally(() => {
      repairing = undefined;
    });
  };

  try {
    await launch();
  } catch (error) {
    stopping = true;
    await gate.stop();
    await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
    throw error;
  }

  // An emulator whose process lives on but no longer answers (a hung JVM, a wrapper outliving its Java child) would
  // hold the gate closed forever if only its exit were watched: after `UNREACHABLE_CHECKS` failed checks in a row
  // it is stopped, and its exit (ignored, as it is no longer `current`) is replaced by an explicit repair.
  let checking = false;
  let failedChecks = 0;
  const restartUnreachable = (emulator: Emulator): void => {
    current = undefined;
    gate.close();
    logger.warn({ failedChecks }, 'Pub/Sub emulator unreachable; publishing held, restarting it');
    failedChecks = 0;
    void emulator.child.stop(2000).catch(() => undefined);
    repair();
  };
  const timer = setInterval(() => {
    const emulator = current;
    if (!emulator || repairing || stopping || checking) return;
    checking = true;
    withTimeout(subscriptionExists(emulator.host, names), options.checkTimeoutMs ?? 10_000)
      .then(
        (exists) => {
          failedChecks = 0;
          if (exists || stopping || current !== emulator || repairing) return;
          gate.close();
          logger.warn(
            { subscription: names.subscription },
            'subscription missing; publishing held, recreating it',
          );
          repair();
        },
        () => {
          if (stopping || current !== emulator || repairing) return;
          failedChecks += 1;
          if (failedChecks >= UNREACHABLE_CHECKS) restartUnreachable(emulator);
        },
      )
      .finally(() => {
        checking = false;
      });
  }, options.checkIntervalMs ?? 2000);
  timer.unref();

  return {
    host: gate.host,
    get upstream() {
      return current?.host;
    },
    get child() {
      return current?.child;
    },
    children,
    get recoveries() {
      return recoveries;
    },
    whenReady() {
      return gate.isOpen ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      await gate.stop();
      await Promise.all(children.map((c) => c.stop()));
    },
  };
}
