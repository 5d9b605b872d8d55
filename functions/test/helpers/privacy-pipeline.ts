import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LoaderConfig, loadConfig } from '../../src/config.ts';
import { createDestinationFactory } from '../../src/destinations/create-destination.ts';
import { type LoadOutcome, loadObject } from '../../src/load/load-object.ts';
import { createLogger } from '../../src/logger.ts';
import { createRawStore } from '../../src/privacy/create-raw-store.ts';
import { createSuppressionSource } from '../../src/privacy/create-suppression-source.ts';
import type { PrivacyDeps } from '../../src/privacy/engine.ts';
import { openPrivacyWarehouse } from '../../src/privacy/open-warehouse.ts';
import type { RawStore } from '../../src/privacy/raw-store.ts';
import type { PrivacyWarehouse } from '../../src/privacy/warehouse.ts';
import { type FakeGcp, startFakeGcp } from '../fakes/fake-gcp-server.ts';
import { TARGET } from './privacy-people.ts';

export const RAW_BUCKET = 'sluice-raw';

/**
 * One whole pipeline for a privacy test, built from `loadConfig(env)` exactly as the CLI and the function build
 * theirs: DuckDB + a buckets directory, or BigQuery + Cloud Storage (both the strict fake, over HTTP).
 */
export interface PrivacyPipeline {
  name: 'duckdb' | 'bigquery';
  config: LoaderConfig;
  env: Record<string, string>;
  raw: RawStore;
  fake: FakeGcp | undefined;
  /** Writes a raw window file (a new generation). */
  put(name: string, text: string): Promise<void>;
  /** Loads the live generation of a raw file through loadObject, with the suppression list, like the function. */
  load(name: string, options?: { force?: boolean }): Promise<LoadOutcome>;
  /** Opens the privacy warehouse (the caller closes it). */
  warehouse(): Promise<PrivacyWarehouse>;
  deps(wh: PrivacyWarehouse): PrivacyDeps;
  /** Every raw line of every stored generation (noncurrent ones included where the store keeps them). */
  rawLines(): Promise<string[]>;
  close(): Promise<void>;
}

export async function privacyPipeline(name: 'duckdb' | 'bigquery'): Promise<PrivacyPipeline> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-privacy-'));
  let fake: FakeGcp | undefined;
  let env: Record<string, string> = {
    SLUICE_DATA_DIR: dir,
    SLUICE_RAW_BUCKET: RAW_BUCKET,
    SLUICE_PRIVACY_BUCKET: 'sluice-privacy',
    SLUICE_PRIVACY_SETTLE_SECONDS: '0',
    SLUICE_LOG_LEVEL: 'silent',
  };
  if (name === 'bigquery') {
    fake = await startFakeGcp({ project: 'privacy' });
    env = {
      ...env,
      SLUICE_DESTINATION: 'bigquery',
      SLUICE_GCP_PROJECT: 'privacy',
      SLUICE_BQ_DATASET: 'analytics',
      SLUICE_BQ_LOCATION: 'EU',
      SLUICE_BIGQUERY_ENDPOINT: fake.url,
      STORAGE_EMULATOR_HOST: fake.url,
      SLUICE_BQ_USERS_REFRESH_MINUTES: '0',
    };
    process.env.METADATA_SERVER_DETECTION = 'none';
  }
  const config = loadConfig(env);
  const raw = await createRawStore(config);
  const destination = createDestinationFactory(config);
  const logger = createLogger('silent');
  const pipeline: PrivacyPipeline = {
    name,
    config,
    env,
    raw,
    fake,
    async put(object, text) {
      const live = await raw.stat(RAW_BUCKET, object);
      await raw.replace(RAW_BUCKET, object, Buffer.from(text), live?.generation ?? '0');
    },
    async load(object, options = {}) {
      const info = await raw.stat(RAW_BUCKET, object);
      if (!info) throw new Error(`no raw file ${object}`);
      return loadObject(
        {
          store: raw,
          destination: await destination(),
          settings: config,
          logger,
          suppression: await createSuppressionSource(config),
          ...(options.force ? { loadKeySuffix: `@replay:${Date.now()}` } : {}),
        },
        { bucket: RAW_BUCKET, name: object, generation: info.generation },
      );
    },
    warehouse: () => openPrivacyWarehouse(config),
    deps(wh) {
      return {
        warehouse: wh,
        raw,
        rawBucket: RAW_BUCKET,
        rawPrefix: '',
        suppression: { bucket: config.privacy.bucket, object: config.privacy.suppressionObject },
        settleMs: 0,
      };
    },
    async rawLines() {
      if (fake) {
        return fake.gcs
          .allGenerations(RAW_BUCKET)
          .flatMap((o) => o.data.toString('utf8').split('\n'))
          .filter((l) => l !== '');
      }
      const out: string[] = [];
      for await (const info of raw.list(RAW_BUCKET, '')) {
        const chunks: Buffer[] = [];
        for await (const c of await raw.read(RAW_BUCKET, info.name)) chunks.push(Buffer.from(c as Buffer));
        out.push(
          ...Buffer.concat(chunks)
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== ''),
        );
      }
      return out;
    },
    async close() {
      await fake?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return pipeline;
}

const PRIVACY_CLI = fileURLToPath(new URL('../../src/cli/privacy.ts', import.meta.url));

/** A running `npm run privacy -- delete --user-id <target>`: its stdout lines so far (emits `lines` on each chunk). */
export interface PrivacyDeleteChild {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

/** `npm run privacy -- delete --user-id <target>` in a child process (no re-spawn: SLUICE_LOADER_PROCESS set). */
export function privacyDeleteChild(p: PrivacyPipeline): PrivacyDeleteChild {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', PRIVACY_CLI, 'delete', '--user-id', TARGET.userId],
    {
      env: { ...process.env, ...p.env, SLUICE_LOADER_PROCESS: '1', METADATA_SERVER_DETECTION: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) lines.push(part);
    child.emit('lines');
  });
  child.stderr?.on('data', (chunk: Buffer) => lines.push(`stderr: ${chunk.toString('utf8')}`));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}
