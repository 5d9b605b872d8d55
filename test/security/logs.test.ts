// The logs of a whole run of the real entry point (`tsx publisher/src/server.ts`), at every level, scanned for write
// keys (known and guessed, in every place a client can put one), Authorization headers and event bodies
// (issue 13 item 5, collector half). At debug and trace the per-request lines are there, with the URL redacted.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@sluice/publisher/testing';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'wk_logscan_5e1d0c';
const JITSU_KEY = 'jk_logscan:sec_7a2b9f';
const GUESSES = [
  'guess_basic_41ab',
  'guess_path_83cd',
  'guess_query_22ef',
  'guess_header_19aa',
  'guess_body_55bb',
];
const MARKER = 'body_marker_6d4e2a';

let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const event = (extra: Record<string, unknown> = {}) => ({
  type: 'track',
  event: 'Log Scan',
  anonymousId: `anon-${MARKER}`,
  properties: { secret: MARKER },
  ...extra,
});

async function traffic(base: string): Promise<number[]> {
  const json = { 'content-type': 'application/json' };
  const calls: [string, RequestInit][] = [
    [
      '/v1/track',
      { method: 'POST', headers: { ...json, authorization: basic(KEY) }, body: JSON.stringify(event()) },
    ],
    [
      '/v1/batch/',
      {
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ batch: [event()] }),
      },
    ],
    [
      '/v1/t',
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(event({ writeKey: KEY })),
      },
    ],
    [`/v1/projects/${KEY}/settings`, { method: 'GET' }],
    [`/v1/projects/${KEY}`, { method: 'GET' }],
    [`/sourceConfig/?p=npm&v=3&writeKey=${KEY}`, { method: 'GET' }],
    [
      `/beacon/v1/batch?writeKey=${KEY}`,
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ batch: [event()] }),
      },
    ],
    [
      '/api/s/track',
      {
        method: 'POST',
        headers: { ...json, 'x-write-key': JITSU_KEY },
        body: JSON.stringify(event({ writeKey: 'jk_logscan:***' })),
      },
    ],
    [
      '/v1/track',
      {
        method: 'POST',
        headers: { ...json, authorization: basic(GUESSES[0] as string) },
        body: JSON.stringify(event()),
      },
    ],
    [`/v1/projects/${GUESSES[1]}/settings`, { method: 'GET' }],
    [`/sourceConfig?writeKey=${GUESSES[2]}`, { method: 'GET' }],
    [
      '/api/s/page',
      {
        method: 'POST',
        headers: { ...json, 'x-write-key': GUESSES[3] as string },
        body: JSON.stringify(event()),
      },
    ],
    ['/v1/track', { method: 'POST', headers: json, body: JSON.stringify(event({ writeKey: GUESSES[4] })) }],
    // Refused bodies: a schema error and a JSON error, both carrying the marker.
    [
      '/v1/track',
      {
        method: 'POST',
        headers: { ...json, authorization: basic(KEY) },
        body: JSON.stringify(event({ event: 42 })),
      },
    ],
    [
      '/v1/track',
      { method: 'POST', headers: { ...json, authorization: basic(KEY) }, body: `{"secret":"${MARKER}"` },
    ],
    [`/nowhere?writeKey=${KEY}&x=1`, { method: 'GET' }],
  ];
  const statuses: number[] = [];
  for (const [path, init] of calls) statuses.push((await fetch(`${base}${path}`, init)).status);
  return statuses;
}

describe.each(['trace', 'debug', 'info', 'warn', 'error'])('SLUICE_LOG_LEVEL=%s', (level) => {
  it('logs no write key, Authorization header or event body', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'collector-logs-'));
    // A port chosen up front: at warn and error the server's "listening on" line is not logged.
    const port = await freePort();
    // Node itself with tsx's loader (not the tsx CLI, which relays signals through a second process).
    child = spawn(process.execPath, ['--import', 'tsx', 'publisher/src/server.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SLUICE_HOST: '127.0.0.1',
        SLUICE_PORT: String(port),
        SLUICE_WRITE_KEYS: `${KEY}=web,${JITSU_KEY}=jitsu`,
        SLUICE_TRANSPORT: 'spool',
        SLUICE_DATA_DIR: dataDir,
        SLUICE_WINDOW_SECONDS: '600',
        SLUICE_LOG_LEVEL: level,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const collect = (chunk: Buffer) => {
      log += chunk;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const statuses = await traffic(`http://127.0.0.1:${port}`);
    expect(statuses).toEqual([
      200, 200, 200, 200, 404, 200, 200, 200, 401, 401, 401, 401, 401, 400, 400, 404,
    ]);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    for (const secret of [KEY, JITSU_KEY, 'sec_7a2b9f', ...GUESSES, MARKER, basic(KEY).slice(6), 'Bearer']) {
      expect(log.includes(secret), `${secret} in the ${level} log:\n${log}`).toBe(false);
    }
    expect(log.toLowerCase()).not.toContain('authorization');
    if (level === 'trace' || level === 'debug') {
      // The per-request lines exist (the scan saw them), with the key taken out of the URL.
      expect(log).toContain('"url":"/v1/projects/[redacted]/settings"');
      expect(log).toContain('"url":"/sourceConfig/?p=npm&v=3&writeKey=[redacted]"');
      expect(log).toContain('"url":"/beacon/v1/batch?writeKey=[redacted]"');
      expect(log).toContain('"url":"/nowhere?writeKey=[redacted]&x=1"');
    } else {
      expect(log).not.toContain('incoming request');
    }
  }, 120_000);
});
