/**
 * The scenario runner: a fresh local stack in a temp dir, steady traffic with a ledger, one fault, then the
 * common checks. A scenario is a name, a transport and a `fault` (plus optional extra checks); see scenarios.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalConfig, type LocalStack, loadConfig, pollUntil, startStack } from '@sluice/infra/local';
import { pino } from 'pino';
import {
  checkFailedEvents,
  checkLedger,
  checkNoFileStuck,
  checkNothingLeft,
  checkReconciliation,
  type Figures,
  figures,
  listRawFiles,
  listTempFiles,
  type Observation,
} from './checks.ts';
import { readWarehouseIsolated } from './isolated-warehouse.ts';
import { createLedger, type Ledger } from './ledger.ts';
import {
  dataDirMarker,
  identify,
  type KillScope,
  killEach,
  killTree,
  type ProcessImage,
  processesOf,
  processImage,
  respawn,
  type Spawned,
  stopGroup,
} from './processes.ts';
import { type DrainReport, drain, type LoaderThroughput, loaderThroughput, settle } from './settle.ts';
import { startHostedStack } from './stack-host.ts';
import { startTraffic, type Traffic, type TrafficTarget } from './traffic.ts';
import type { WarehouseState } from './warehouse.ts';

/** `host`: the process hosting the whole stack (and its stand-in), for scenarios with `hosted: true`. */
export type ProcessName = 'collector' | 'loader' | 'emulator' | 'host';

export interface ScenarioContext {
  name: string;
  dir: string;
  config: LocalConfig;
  stack: LocalStack;
  ledger: Ledger;
  traffic: Traffic;
  target: TrafficTarget;
  /** Waits until at least `n` more ids are acknowledged than when called (bounded; returns whether it happened). */
  acknowledgedMore(n: number, timeoutMs?: number): Promise<boolean>;
  /** Waits until the traffic has sent `n` more events (acknowledged or not; bounded). */
  sentMore(n: number, timeoutMs?: number): Promise<boolean>;
  /**
   * Signals a stack process (its whole group, identity-checked; the emulator's whole tree) and waits until it is
   * gone. Remembers how it ran.
   */
  kill(name: ProcessName, signal: NodeJS.Signals): Promise<void>;
  /**
   * Starts a killed process again as it ran, and waits until it answers. The emulator is not started by the
   * harness: the stack's supervisor restarts it, and this waits for that recovery (and checks it happened).
   */
  restart(name: ProcessName): Promise<void>;
  /**
   * Each of these objects must end with exactly one loads row: checked on the final warehouse, once the run has
   * drained (read mid-traffic, the warehouse is held by back-to-back loads and shows an unfinished backlog).
   */
  expectOneLoad(names: readonly string[]): void;
  /** Records a problem found by the scenario itself (checked with the common ones). */
  problem(text: string): void;
  /** A note for the report (what happened at the fault). */
  note(text: string): void;
}

export interface Scenario {
  name: string;
  transport: 'spool' | 'pubsub';
  /** Steady rate in events/s (default 150). */
  rate?: number;
  /** Acknowledged events before the fault (default 300). */
  warmup?: number;
  /** Acknowledged events after the fault before traffic stops (default 300). */
  cooldown?: number;
  /** Run the stack in a child process (as `npm run dev` does) so the process hosting the stand-in can be killed. */
  hosted?: boolean;
  /** Extra loader/collector settings for the stack (default none). */
  env?: Record<string, string>;
  /**
   * Window length in seconds (default 1). Longer for scenarios that add big files to the steady traffic: the
   * loader takes one file at a time, ~1.5-3 s each here, so 1-second windows build a backlog faster than it
   * drains (docs/reliability.md has the figures).
   */
  windowSeconds?: number;
  /** Bound in seconds of warm-up + fault + cool-down (default 110). */
  runSeconds?: number;
  fault(ctx: ScenarioContext): Promise<void>;
  /** Acknowledged ids allowed to end in failed events instead of a table (poison inputs). */
  mayFail?: (id: string) => boolean;
  /** Extra checks after the run, on the final warehouse. */
  verify?(ctx: ScenarioContext, warehouse: WarehouseState): Promise<void>;
}

export interface ScenarioResult {
  name: string;
  transport: string;
  passed: boolean;
  figures: Figures;
  problems: string[];
  notes: string[];
  statuses: Record<string, number>;
  /** How the backlog drained after the traffic stopped. */
  drain: DrainReport | undefined;
  /** How fast the loader worked through the files (from its log). */
  loader: LoaderThroughput | undefined;
  seconds: number;
  dir: string;
}

/** Default bound of warm-up + fault + cool-down; past it the scenario is torn down and reported. */
const RUN_MS = 110_000;
/** Test timeout for one scenario: the longest run (300 s), the longest drain (settle.ts), the settle, the stop. */
export const SCENARIO_TIMEOUT_MS = 720_000;

/** Whether `promise` settled within `ms` (its rejection is rethrown). */
async function within(ms: number, promise: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Where results are written (one JSON file per scenario) for `test/chaos/report.ts`: one directory per checkout,
 * so that runs of other checkouts on the same machine (the short form is part of their `npm test`) do not
 * overwrite this one's figures.
 */
export const RESULTS_DIR = join(
  tmpdir(),
  `sluice-chaos-results-${createHash('sha256')
    .update(fileURLToPath(new URL('../../..', import.meta.url)))
    .digest('hex')
    .slice(0, 10)}`,
);

export async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), `sluice-chaos-${scenario.name}-`));
  const config = loadConfig({
    ...process.env,
    ...scenario.env,
    SLUICE_DATA_DIR: dir,
    SLUICE_WINDOW_SECONDS: String(scenario.windowSeconds ?? 1),
    SLUICE_TRANSPORT: scenario.transport,
  });
  const problems: string[] = [];
  const notes: string[] = [];
  const images = new Map<ProcessName, ProcessImage>();
  const respawned = new Map<ProcessName, Spawned>();
  const marker = dataDirMarker(dir);
  const recoveriesAtKill = new Map<ProcessName, { recoveries: number; pid: number }>();
  const ledger = createLedger();
  const oneLoadEach: string[] = [];
  const hosted = scenario.hosted ? await startHostedStack(config, scenario.transport) : undefined;
  const stack =
    hosted?.stack ?? (await startStack({ config, logger: pino({ level: 'silent' }), collectorPort: 0 }));
  const target: TrafficTarget = { collectorUrl: stack.collectorUrl, writeKey: stack.writeKey };
  const traffic = startTraffic(target, ledger, {
    rate: scenario.rate ?? 150,
    batchSize: 10,
    idPrefix: `${scenario.name}-${started.toString(36)}`,
  });

  const pidOf = (name: ProcessName): number | undefined => {
    if (name === 'host') return hosted?.host.current.pid;
    if (name === 'emulator') return stack.emulator?.child?.pid;
    return respawned.get(name)?.pid ?? stack.processes.find((p) => p.name === name)?.pid;
  };
  const acknowledgedMore = async (n: number, timeoutMs = 20_000): Promise<boolean> => {
    const goal = ledger.acknowledged().length + n;
    const reached = await pollUntil(
      async () => ledger.acknowledged().length,
      (count) => count >= goal,
      { initial: 0, timeoutMs, intervalMs: 50 },
    );
    return reached >= goal;
  };
  const ctx: ScenarioContext = {
    name: scenario.name,
    dir,
    config,
    stack,
    ledger,
    traffic,
    target,
    acknowledgedMore,
    async sentMore(n, timeoutMs = 20_000) {
      const goal = traffic.sent + n;
      const reached = await pollUntil(
        async () => traffic.sent,
        (sent) => sent >= goal,
        { initial: 0, timeoutMs, intervalMs: 50 },
      );
      return reached >= goal;
    },
    async kill(name, signal) {
      const pid = pidOf(name);
      if (pid === undefined) throw new Error(`no ${name} in this stack`);
      const identity = await identify(pid);
      if (name === 'emulator') {
        recoveriesAtKill.set(name, { recoveries: stack.emulator?.recoveries ?? 0, pid });
      } else {
        images.set(name, await processImage(pid));
      }
      const scope: KillScope = name === 'emulator' ? 'tree' : 'group';
      const killed = await killTree(identity, marker, signal, { scope });
      if (killed.length === 0) throw new Error(`${name} (pid ${pid}) was not a process of this stack`);
      notes.push(`${name} ${signal} (${killed.length} processes)`);
    },
    async restart(name) {
      if (name === 'emulator') {
        await waitRecovered(stack, recoveriesAtKill.get(name));
        notes.push(`emulator restarted by the stack's supervisor (pid ${stack.emulator?.child?.pid})`);
        return;
      }
      const image = images.get(name);
      if (!image) throw new Error(`${name} was not killed by the harness`);
      const spawned = await respawn(name, image, join(config.logsDir, `${name}.restarted.log`));
      respawned.set(name, spawned);
      if (name === 'host' && hosted) hosted.host.current = spawned.identity;
      await waitAnswering(name, stack, spawned.pid);
    },
    expectOneLoad: (names) => {
      if (names.length === 0) problems.push('no crafted file was delivered');
      oneLoadEach.push(...names);
    },
    problem: (text) => problems.push(text),
    note: (text) => notes.push(text),
  };

  let warehouse: WarehouseState = { idCounts: new Map(), failed: [], loads: [] };
  let drained: DrainReport | undefined;
  const run = async (): Promise<void> => {
    if (!(await acknowledgedMore(scenario.warmup ?? 300))) problems.push('warm-up traffic not acknowledged');
    await scenario.fault(ctx);
    if (!(await acknowledgedMore(scenario.cooldown ?? 300))) {
      problems.push('traffic after the fault was not acknowledged within 20 s (collector unavailable)');
    }
    await traffic.stop();
  };
  try {
    const runMs = (scenario.runSeconds ?? RUN_MS / 1000) * 1000;
    if (!(await within(runMs, run()))) {
      problems.push(`scenario did not finish within ${runMs / 1000} s`);
      // The drain below must not wait on traffic that is still being generated.
      await traffic.stop(1000);
    }
    // The stand-in's flush waits for every delivery, which Eventarc-like retries keep open while a load fails.
    await within(10_000, stack.standIn?.flush().catch(() => undefined) ?? Promise.resolve());
    // The file system first: a reader of the DuckDB file holds its lock, so polling the warehouse while loads
    // are queued would slow the very loads it waits for.
    drained = await drain(stack.rawBucketDir);
    if (drained.pendingAtEnd > 0) {
      notes.push(`drain ended with ${drained.pendingAtEnd} files pending after ${drained.seconds} s`);
    }
    warehouse = await settle(stack, ledger, scenario.mayFail);
    if (scenario.verify) await scenario.verify(ctx, warehouse);
  } catch (error) {
    problems.push(`scenario threw: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await traffic.stop(1000);
    // The collector first (it drains into the pipeline), then the stack, then whatever the harness restarted.
    const collector = respawned.get('collector');
    if (collector)
      await stopGroup(collector.identity, marker, 20_000).catch((e: unknown) =>
        problems.push(`stop collector: ${e}`),
      );
    await stack
      .stop()
      .catch((e: unknown) => problems.push(`stack.stop(): ${e instanceof Error ? e.message : e}`));
    for (const [name, p] of respawned) {
      if (name !== 'collector' && name !== 'host')
        await stopGroup(p.identity, marker).catch((e: unknown) => problems.push(`stop ${name}: ${e}`));
    }
  }
  warehouse = await readWarehouseIsolated(stack.duckdbPath).catch((error: unknown) => {
    problems.push(
      `warehouse unreadable after stop: ${error instanceof Error ? error.message : String(error)}`,
    );
    return warehouse;
  });
  const leftoverProcesses = await processesOf(dir);
  const observation: Observation = {
    ledger,
    warehouse,
    rawFiles: await listRawFiles(stack.rawBucketDir),
    leftoverProcesses,
    leftoverTempFiles: await listTempFiles(dir),
  };
  for (const name of oneLoadEach) {
    const rows = warehouse.loads.filter((l) => l.name === name).length;
    if (rows !== 1) problems.push(`${name}: ${rows} loads rows (expected 1)`);
  }
  problems.push(
    ...checkLedger(observation, scenario.mayFail),
    ...checkFailedEvents(observation),
    ...checkReconciliation(observation),
    ...checkNoFileStuck(observation),
    ...checkNothingLeft(observation),
  );
  // Orphans are reported above; end them so one failing scenario does not disturb the next.
  await killEach(leftoverProcesses);
  const result: ScenarioResult = {
    name: scenario.name,
    transport: scenario.transport,
    passed: problems.length === 0,
    figures: figures(observation),
    problems,
    notes,
    statuses: ledger.statuses(),
    drain: drained,
    // The stack's loader, and the one the harness restarted (if it did).
    loader: await loaderThroughput(
      ['loader.log', 'loader.restarted.log'].map((f) => join(config.logsDir, f)),
    ),
    seconds: Math.round((Date.now() - started) / 100) / 10,
    dir,
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${scenario.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  if (result.passed) await rm(dir, { recursive: true, force: true });
  return result;
}

/** Waits until the stack's supervisor has brought the emulator back (a new process, the gate open again). */
async function waitRecovered(
  stack: LocalStack,
  before: { recoveries: number; pid: number } | undefined,
): Promise<void> {
  const emulator = stack.emulator;
  if (!emulator || !before) throw new Error('the emulator was not killed by the harness');
  const recovered = await pollUntil(
    async () => emulator.recoveries > before.recoveries && emulator.child?.pid !== before.pid,
    Boolean,
    { initial: false, timeoutMs: 90_000, intervalMs: 100 },
  );
  if (!recovered) {
    throw new Error(
      `the supervisor did not restart the emulator within 90 s (recoveries ${emulator.recoveries}, ` +
        `process ${emulator.child?.pid ?? 'none'})`,
    );
  }
  await within(30_000, emulator.whenReady());
}

async function waitAnswering(name: ProcessName, stack: LocalStack, pid: number): Promise<void> {
  const url =
    name === 'collector' || name === 'host'
      ? `${stack.collectorUrl}/readyz`
      : name === 'loader'
        ? stack.loaderUrl
        : `http://${stack.emulatorHost ?? ''}/`;
  const ok = await pollUntil(
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return name === 'loader' || response.ok;
    },
    (answered) => answered,
    { initial: false, timeoutMs: 60_000, intervalMs: 100 },
  );
  if (!ok) throw new Error(`${name} (pid ${pid}) restarted but did not answer at ${url}`);
}
