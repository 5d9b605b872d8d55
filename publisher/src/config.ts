import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type TransportKind = 'pubsub' | 'spool';

export interface RateLimit {
  /** Tokens added per second; 0 disables the limit. */
  perSecond: number;
  /** Bucket size (the burst allowed after idling). */
  burst: number;
}

export interface CollectorConfig {
  host: string;
  port: number;
  logLevel: string;
  /** write key -> source id */
  writeKeys: ReadonlyMap<string, string>;
  /**
   * source id -> its allowed origins (`*` = any). A source with an entry is held to it alone; a source without one
   * uses `defaultOrigins` (the entry without `source=`), which is empty once any per-source entry is configured
   * without a global one. See docs/security.md.
   */
  allowedOrigins: ReadonlyMap<string, readonly string[]>;
  defaultOrigins: readonly string[];
  /** Fastify `trustProxy`: false, true (every hop), a hop count, or a list of addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  anonymizeIp: boolean;
  /**
   * Public base URL of the collector (for the settings route), http(s) only. Unset: derived from the request's
   * validated host, and the settings answer is then not publicly cacheable.
   */
  publicUrl: string | undefined;
  /** Failed write-key lookups allowed per client IP (a token bucket refilled over a minute); 0 disables. */
  authFailureLimit: RateLimit;
  publishTimeoutMs: number;
  retryAfterSeconds: number;
  maxInflightBytes: number;
  drainTimeoutMs: number;
  rateLimit: { perKeyEvents: RateLimit; perIpRequests: RateLimit };
  transport: TransportKind;
  pubsub: {
    projectId: string;
    topic: string;
    emulatorHost: string | undefined;
    batchMaxMessages: number;
    batchMaxMilliseconds: number;
  };
  spool: {
    bucketsDir: string;
    bucket: string;
    windowSeconds: number;
    maxFileBytes: number;
    loaderUrl: string | undefined;
  };
  /** The privacy suppression list (docs/privacy.md): where it is read from and how stale it may get. */
  suppression: {
    source: 'none' | 'local' | 'gcs';
    bucket: string;
    object: string;
    refreshMs: number;
    storageEndpoint: string | undefined;
  };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid collector configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

const REPO_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** `https://Shop.example:443` -> `https://shop.example`, as a browser sends it; undefined unless a bare origin. */
function normalizeOrigin(value: string): string | undefined {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !/^https?:$/.test(url.protocol) || url.host === '') return undefined;
  // An origin has no path, query, fragment or credentials: anything more is a configuration mistake.
  if (!new RegExp(`^${url.protocol}//[^/?#@]+/?$`, 'i').test(value)) return undefined;
  return url.origin;
}

/** An IP address or `address/prefix`, as Fastify's `trustProxy` list takes them. */
function isAddressOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Parses the collector's settings from the environment; throws a ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): CollectorConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const num = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      problems.push(`${name} must be a number between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const writeKeys = new Map<string, string>();
  const single = str('SLUICE_WRITE_KEY');
  if (single) writeKeys.set(single, 'local');
  for (const pair of (str('SLUICE_WRITE_KEYS') ?? '').split(',').filter((p) => p.trim() !== '')) {
    const [key, source, ...rest] = pair.trim().split('=');
    if (!key || !source || rest.length > 0 || !/^[A-Za-z0-9_.-]+$/.test(source)) {
      problems.push(
        `SLUICE_WRITE_KEYS entry "${pair.trim()}" must be key=sourceId (sourceId: letters, digits, _.-)`,
      );
      continue;
    }
    writeKeys.set(key, source);
  }
  if (writeKeys.size === 0)
    problems.push('set SLUICE_WRITE_KEY or SLUICE_WRITE_KEYS (no write key configured)');

  // SLUICE_ALLOWED_ORIGINS: "*" | "https://a.com|https://b.com" (all sources) | "sourceA=https://a.com|...,sourceB=*"
  // (docs/security.md). Unset = "*". Once set, a source is allowed only what its entry, or the global entry, lists.
  const allowedOrigins = new Map<string, string[]>();
  let defaultOrigins: string[] = ['*'];
  const originsRaw = str('SLUICE_ALLOWED_ORIGINS');
  if (originsRaw !== undefined) {
    defaultOrigins = [];
    for (const part of originsRaw
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const eq = part.indexOf('=');
      const list: string[] = [];
      for (const entry of (eq < 0 ? part : part.slice(eq + 1)).split('|')) {
        const o = entry.trim();
        if (o === '') continue;
        const origin = o === '*' ? o : normalizeOrigin(o);
        if (origin === undefined) problems.push(`SLUICE_ALLOWED_ORIGINS: not an origin: ${o}`);
        else list.push(origin);
      }
      const source = eq < 0 ? undefined : part.slice(0, eq).trim();
      if (source === undefined) defaultOrigins.push(...list);
      else if (!/^[A-Za-z0-9_.-]+$/.test(source))
        problems.push(`SLUICE_ALLOWED_ORIGINS: "${source}" is not a source id`);
      else allowedOrigins.set(source, [...(allowedOrigins.get(source) ?? []), ...list]);
    }
  }

  const trustRaw = str('SLUICE_TRUST_PROXY');
  let trustProxy: boolean | number | string[] = false;
  if (trustRaw !== undefined) {
    if (['true', 'false'].includes(trustRaw)) trustProxy = trustRaw === 'true';
    else if (/^\d+$/.test(trustRaw)) trustProxy = Number(trustRaw);
    else {
      trustProxy = trustRaw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = trustProxy.filter((a) => !isAddressOrCidr(a));
      if (bad.length > 0)
        problems.push(`SLUICE_TRUST_PROXY: not true, false, a hop count or IPs/CIDRs: ${bad.join(', ')}`);
    }
  }

  const transportRaw = str('SLUICE_TRANSPORT') ?? 'pubsub';
  let transport: TransportKind = 'pubsub';
  if (transportRaw === 'pubsub' || transportRaw === 'spool') transport = transportRaw;
  else problems.push(`SLUICE_TRANSPORT must be pubsub or spool (got "${transportRaw}")`);

  const topic = str('SLUICE_PUBSUB_TOPIC') ?? 'sluice-events';
  if (!/^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/.test(topic)) {
    problems.push(
      `SLUICE_PUBSUB_TOPIC "${topic}" is not a valid topic id (3-255 chars, starts with a letter)`,
    );
  }
  const loaderUrl = str('SLUICE_LOADER_URL');
  if (loaderUrl !== undefined && !URL.canParse(loaderUrl)) problems.push('SLUICE_LOADER_URL is not a URL');
  const publicUrl = str('SLUICE_PUBLIC_URL');
  if (
    publicUrl !== undefined &&
    !(URL.canParse(publicUrl) && /^https?:$/.test(new URL(publicUrl).protocol))
  ) {
    problems.push('SLUICE_PUBLIC_URL must be an http(s) URL');
  }
  const authFailuresPerMinute = num('SLUICE_AUTH_FAILURES_PER_MINUTE', 20);

  const dataDir = resolve(str('SLUICE_DATA_DIR') ?? resolve(REPO_ROOT, '.sluice'));
  const config: CollectorConfig = {
    host: str('SLUICE_HOST') ?? '0.0.0.0',
    port: num('SLUICE_PORT', 8080, 0, 65535),
    logLevel: str('SLUICE_LOG_LEVEL') ?? 'info',
    writeKeys,
    allowedOrigins,
    defaultOrigins,
    trustProxy,
    anonymizeIp: bool('SLUICE_ANONYMIZE_IP', false),
    publicUrl,
    authFailureLimit: { perSecond: authFailuresPerMinute / 60, burst: authFailuresPerMinute },
    publishTimeoutMs: num('SLUICE_PUBLISH_TIMEOUT_MS', 5000, 50),
    retryAfterSeconds: num('SLUICE_RETRY_AFTER_SECONDS', 5, 1, 3600),
    maxInflightBytes: num('SLUICE_MAX_INFLIGHT_BYTES', 64 * 1024 * 1024, 1024),
    drainTimeoutMs: num('SLUICE_DRAIN_TIMEOUT_MS', 15_000, 0),
    rateLimit: {
      perKeyEvents: {
        perSecond: num('SLUICE_RATE_LIMIT_KEY_EPS', 0),
        burst: num('SLUICE_RATE_LIMIT_KEY_BURST', 0),
      },
      perIpRequests: {
        perSecond: num('SLUICE_RATE_LIMIT_IP_RPS', 0),
        burst: num('SLUICE_RATE_LIMIT_IP_BURST', 0),
      },
    },
    transport,
    pubsub: {
      projectId: str('SLUICE_PUBSUB_PROJECT') ?? str('GOOGLE_CLOUD_PROJECT') ?? 'demo',
      topic,
      emulatorHost: str('PUBSUB_EMULATOR_HOST'),
      batchMaxMessages: num('SLUICE_PUBSUB_BATCH_MAX_MESSAGES', 1000, 1, 1000),
      batchMaxMilliseconds: num('SLUICE_PUBSUB_BATCH_MAX_MS', 10, 0, 10_000),
    },
    spool: {
      bucketsDir: resolve(str('SLUICE_BUCKETS_DIR') ?? resolve(dataDir, 'buckets')),
      bucket: str('SLUICE_RAW_BUCKET') ?? 'sluice-raw',
      windowSeconds: num('SLUICE_WINDOW_SECONDS', 60, 0.1, 600),
      maxFileBytes: num('SLUICE_SPOOL_MAX_FILE_BYTES', 64 * 1024 * 1024, 1024),
      loaderUrl,
    },
    suppression: {
      source: 'local',
      bucket: str('SLUICE_PRIVACY_BUCKET') ?? 'sluice-privacy',
      object: str('SLUICE_SUPPRESSION_OBJECT') ?? 'suppressions.json',
      refreshMs: num('SLUICE_SUPPRESSION_REFRESH_SECONDS', 60, 0, 60) * 1000,
      storageEndpoint: str('STORAGE_EMULATOR_HOST'),
    },
  };
  const sourceRaw = str('SLUICE_SUPPRESSION_SOURCE') ?? 'local';
  if (sourceRaw === 'none' || sourceRaw === 'local' || sourceRaw === 'gcs')
    config.suppression.source = sourceRaw;
  else problems.push(`SLUICE_SUPPRESSION_SOURCE must be none, local or gcs (got "${sourceRaw}")`);
  for (const rl of [config.rateLimit.perKeyEvents, config.rateLimit.perIpRequests]) {
    if (rl.perSecond > 0 && rl.burst === 0) rl.burst = rl.perSecond;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
