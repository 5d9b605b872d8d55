import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { LoaderConfig } from '../config.ts';
import { createDestinationFactory } from '../destinations/create-destination.ts';
import { LoaderError } from '../errors.ts';
import { type LoadOutcome, loadObject, type ObjectRef } from '../load/load-object.ts';
import { LOADER_DUCKDB_ENV, LOADER_NODE_OPTIONS } from '../loader-process.ts';
import type { Logger } from '../logger.ts';
import { createSuppressionSource } from '../privacy/create-suppression-source.ts';
import { createObjectStore } from '../storage/create-object-store.ts';
import { localDirectoryStore } from '../storage/local-directory.ts';
import type { ObjectStore } from '../storage/object-store.ts';

export interface Target {
  store: ObjectStore;
  ref: ObjectRef;
}

/**
 * A CLI argument -> the object to load. `gs://bucket/name` goes through the configured object store (Cloud
 * Storage when wired); a local path inside `SLUICE_BUCKETS_DIR` becomes `<bucket>/<name>` of that directory (the
 * same bucket/name the function sees); any other local path is read as the object `<basename>` of the bucket
 * `<directory>`. The generation is the store's current generation.
 */
export async function resolveTarget(arg: string, config: LoaderConfig): Promise<Target> {
  let store: ObjectStore;
  let bucket: string;
  let name: string;
  const gs = /^gs:\/\/([^/]+)\/(.+)$/.exec(arg);
  if (gs) {
    store = await createObjectStore(config);
    bucket = gs[1] as string;
    name = gs[2] as string;
  } else {
    const file = path.resolve(arg);
    const inside = path.relative(config.bucketsDir, file);
    if (!inside.startsWith('..') && !path.isAbsolute(inside) && inside.includes(path.sep)) {
      const [first, ...rest] = inside.split(path.sep);
      store = localDirectoryStore(config.bucketsDir);
      bucket = first as string;
      name = rest.join('/');
    } else {
      store = localDirectoryStore(path.dirname(file), { checkBucketNames: false });
      bucket = '.';
      name = path.basename(file);
    }
  }
  const info = await store.stat(bucket, name);
  if (!info) throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_NOT_FOUND', arg);
  return { store, ref: { bucket, name, generation: info.generation } };
}

/** Loads targets one after another through the function's code path; prints one line per file. */
export async function runLoads(
  targets: AsyncIterable<Target> | Iterable<Target>,
  config: LoaderConfig,
  logger: Logger,
  options: { force: boolean; print: (line: string) => void },
): Promise<{ loaded: number; skipped: number; failed: number; quarantined: number }> {
  const totals = { loaded: 0, skipped: 0, failed: 0, quarantined: 0 };
  const destination = createDestinationFactory(config);
  const suppression = await createSuppressionSource(config);
  const suffix = options.force ? `@replay:${new Date().toISOString()}` : undefined;
  for await (const target of targets) {
    const label = `${target.ref.bucket}/${target.ref.name}`;
    let outcome: LoadOutcome;
    try {
      outcome = await loadObject(
        {
          store: target.store,
          destination: await destination(),
          settings: config,
          logger,
          loadKeySuffix: suffix,
          // A user runs this after fixing what made a file fail: a quarantined file is loaded again.
          retryQuarantined: true,
          suppression,
        },
        target.ref,
      );
    } catch (error) {
      totals.failed++;
      const code = error instanceof LoaderError ? error.code : 'UNEXPECTED';
      options.print(`FAILED   ${label}  ${code}: ${(error as Error).message}`);
      continue;
    }
    const r = outcome.record;
    if (outcome.status === 'quarantined') {
      totals.quarantined++;
      options.print(`QUARANTINED  ${label}  ${r.reason ?? ''}`);
      continue;
    }
    if (outcome.status === 'already_loaded') totals.skipped++;
    else totals.loaded++;
    options.print(
      `${outcome.status === 'loaded' ? 'LOADED ' : 'SKIPPED'}  ${label}  lines=${r.linesRead} loaded=${r.eventsLoaded} ` +
        `duplicates=${r.duplicates} failed=${r.failed} schema_changes=${r.schemaChanges.length}` +
        (outcome.status === 'already_loaded' ? ` (already loaded by ${r.loadId})` : ''),
    );
  }
  return totals;
}

/** Loads the targets, prints one line per file and the totals; the process exit code (1 if any file failed). */
export async function loadAndReport(
  targets: AsyncIterable<Target> | Iterable<Target>,
  config: LoaderConfig,
  logger: Logger,
  force: boolean,
): Promise<number> {
  const totals = await runLoads(targets, config, logger, { force, print: console.log });
  console.log(
    `files: loaded=${totals.loaded} skipped=${totals.skipped} failed=${totals.failed} quarantined=${totals.quarantined}`,
  );
  return totals.failed + totals.quarantined > 0 ? 1 : 0;
}

/** Set in a CLI process that runs with the loader's settings; set it yourself to run a CLI as it is started. */
const LOADER_PROCESS = 'SLUICE_LOADER_PROCESS';

/** The loader's settings this process runs with (node flags and DuckDB environment), for `--help`. */
export function processSettings(): string {
  const flags = process.execArgv.filter((a) => LOADER_NODE_OPTIONS.split(' ').includes(a));
  const env = Object.keys(LOADER_DUCKDB_ENV).map((k) => `${k}=${process.env[k] ?? '(unset)'}`);
  return `process settings: node ${flags.join(' ') || '(none)'}; ${env.join(' ')}`;
}

/**
 * Runs a CLI entry point and exits with its code; a thrown LoaderError prints as `CODE: message`. The entry point
 * runs with the loader's process settings (`loader-process.ts`), as in the function and the local stack: unless
 * SLUICE_LOADER_PROCESS is set, the command runs itself again once, in a child with those settings.
 */
export function runCli(main: () => Promise<number>): void {
  if (process.env[LOADER_PROCESS] === undefined) {
    const child = spawnSync(
      process.execPath,
      [...LOADER_NODE_OPTIONS.split(' '), ...process.execArgv, ...process.argv.slice(1)],
      { stdio: 'inherit', env: { ...process.env, ...LOADER_DUCKDB_ENV, [LOADER_PROCESS]: '1' } },
    );
    if (child.error) throw child.error;
    process.exit(child.status ?? 1);
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof LoaderError ? `${error.code}: ${error.message}` : error);
      process.exit(1);
    },
  );
}
