import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalError } from './errors.ts';

/** The repository root (infra/local/ is two levels below it). Paths to built artifacts are resolved from here. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export type LocalTransport = 'pubsub' | 'spool';

export interface LocalConfig {
  repoRoot: string;
  /** `SLUICE_DATA_DIR`: local state (DuckDB file, buckets, logs). */
  dataDir: string;
  /** `SLUICE_DUCKDB_PATH`: the warehouse file. */
  duckdbPath: string;
  /** `SLUICE_BUCKETS_DIR`: local "buckets", one directory per bucket. */
  bucketsDir: string;
  /** `SLUICE_RAW_BUCKET`: the bucket the raw window files go to. */
  rawBucket: string;
  /** Child process logs, `<dataDir>/logs`. */
  logsDir: string;
  /** `SLUICE_HOST`: the collector's listen address. */
  host: string;
  /** `SLUICE_PORT`: the collector's port; 0 picks a free one. */
  port: number;
  /**
   * The write key the CLIs print and send with: `SLUICE_WRITE_KEY`, else the first key of `SLUICE_WRITE_KEYS`, else
   * `sluice-local-key`.
   */
  writeKey: string;
  /**
   * Whether the stack gives the collector `SLUICE_WRITE_KEY=<writeKey>` (source id `local`): only when no key is
   * configured (neither SLUICE_WRITE_KEY nor SLUICE_WRITE_KEYS), so a configured key set is never widened.
   */
  addLocalWriteKey: boolean;
  /** `SLUICE_WINDOW_SECONDS`: length of a storage-subscription window. */
  windowSeconds: number;
  /** `SLUICE_WINDOW_MAX_BYTES`: a window file is closed early when it would grow past this. */
  windowMaxBytes: number;
  /**
   * `SLUICE_TRANSPORT`: `spool` (default, durable: the collector fsyncs each batch before 200 and writes the windows)
   * or `pubsub` (the GCP topology: emulator + stand-in; the emulator keeps nothing on disk).
   */
  transport: LocalTransport;
  /** `SLUICE_PUBSUB_PROJECT`. */
  pubsubProject: string;
  /** `SLUICE_PUBSUB_TOPIC`. */
  pubsubTopic: string;
  /** `SLUICE_PUBSUB_SUBSCRIPTION`: the pull subscription the stand-in reads. */
  pubsubSubscription: string;
  /** `SLUICE_LOG_LEVEL`: pino level of the local tooling (children keep their own defaults). */
  logLevel: string;
  /** The environment the children inherit (the stack overrides the variables it controls). */
  childEnv: Record<string, string>;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NAME = /^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$/;

/** Parses the local settings; throws SLUICE_ERR_LOCAL_CONFIG listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const problems: string[] = [];
  const str = (key: string, fallback: string): string => {
    const v = env[key];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  };
  const num = (key: string, fallback: number, check: (n: number) => boolean, rule: string): number => {
    const raw = env[key];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || !check(n)) {
      problems.push(`${key}=${JSON.stringify(raw)}: must be ${rule}`);
      return fallback;
    }
    return n;
  };
  const path = (key: string, fallback: string): string => {
    const v = str(key, fallback);
    return isAbsolute(v) ? v : resolve(REPO_ROOT, v);
  };
  const name = (key: string, fallback: string): string => {
    const v = str(key, fallback);
    if (!NAME.test(v)) problems.push(`${key}=${JSON.stringify(v)}: must be a Pub/Sub name (3-255 chars)`);
    return v;
  };

  const dataDir = path('SLUICE_DATA_DIR', join(REPO_ROOT, '.sluice'));
  const transportRaw = str('SLUICE_TRANSPORT', 'spool');
  if (transportRaw !== 'pubsub' && transportRaw !== 'spool') {
    problems.push(`SLUICE_TRANSPORT=${JSON.stringify(transportRaw)}: must be pubsub or spool`);
  }
  const rawBucket = str('SLUICE_RAW_BUCKET', 'sluice-raw');
  if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(rawBucket)) {
    problems.push(
      `SLUICE_RAW_BUCKET=${JSON.stringify(rawBucket)}: must be a bucket name (3-63 chars, a-z0-9._-)`,
    );
  }
  const logLevel = str('SLUICE_LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`SLUICE_LOG_LEVEL=${JSON.stringify(logLevel)}: must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const configuredKeys = str('SLUICE_WRITE_KEYS', '');
  const firstConfiguredKey = configuredKeys.split(',')[0]?.split('=')[0]?.trim() ?? '';
  const addLocalWriteKey = str('SLUICE_WRITE_KEY', '') === '' && firstConfiguredKey === '';
  const writeKey = str('SLUICE_WRITE_KEY', firstConfiguredKey || 'sluice-local-key');
  if (writeKey.includes(':'))
    problems.push('SLUICE_WRITE_KEY: must not contain ":" (it is the Basic username)');

  const config: LocalConfig = {
    repoRoot: REPO_ROOT,
    dataDir,
    duckdbPath: path('SLUICE_DUCKDB_PATH', join(dataDir, 'warehouse.duckdb')),
    bucketsDir: path('SLUICE_BUCKETS_DIR', join(dataDir, 'buckets')),
    rawBucket,
    logsDir: join(dataDir, 'logs'),
    host: str('SLUICE_HOST', '127.0.0.1'),
    port: num('SLUICE_PORT', 8080, (n) => Number.isInteger(n) && n >= 0 && n <= 65_535, 'an integer 0-65535'),
    writeKey,
    addLocalWriteKey,
    windowSeconds: num(
      'SLUICE_WINDOW_SECONDS',
      5,
      (n) => n >= 0.1 && n <= 600,
      'a number of seconds, 0.1-600',
    ),
    windowMaxBytes: num(
      'SLUICE_WINDOW_MAX_BYTES',
      64 * 1024 * 1024,
      (n) => Number.isInteger(n) && n >= 1024 && n <= 10 * 1024 ** 3,
      'an integer number of bytes, 1 KiB-10 GiB',
    ),
    transport: transportRaw === 'pubsub' ? 'pubsub' : 'spool',
    pubsubProject: name('SLUICE_PUBSUB_PROJECT', 'demo'),
    pubsubTopic: name('SLUICE_PUBSUB_TOPIC', 'sluice-events'),
    pubsubSubscription: name('SLUICE_PUBSUB_SUBSCRIPTION', 'sluice-raw-writer'),
    logLevel,
    childEnv: Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
  };
  if (problems.length > 0) {
    throw new LocalError(
      'SLUICE_ERR_LOCAL_CONFIG',
      `Invalid local settings:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return config;
}
