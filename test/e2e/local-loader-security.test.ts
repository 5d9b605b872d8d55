/**
 * Issue 13 item 1: the local loader takes CloudEvents from anyone who reaches it, so it listens on loopback only,
 * and no CloudEvent can make it read a file outside the buckets directory (path segments, absolute names,
 * symlinks). The "secret" here is a valid raw line: had any probe read it, its event would be in `tracks`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, loadConfig, queryWarehouse, startStack } from '@sluice/infra/local';
import { finalizedCloudEvent } from '@sluice/sdk/protocol';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRET = '{"type":"track","event":"Leaked","messageId":"leak-1","anonymousId":"x"}\n';

/** Local addresses (hex `IP:PORT`, as in /proc/net/tcp) of the sockets listening on `port`. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[3] === '0A' && cols[1]?.endsWith(`:${hexPort}`))
    .map((cols) => cols[1] ?? '');
}

describe('local loader: loopback only, nothing outside the buckets directory', () => {
  let dir: string;
  let stack: LocalStack;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-loader-sec-'));
    await mkdir(join(dir, 'outside'));
    await writeFile(join(dir, 'secret.txt'), SECRET);
    await writeFile(join(dir, 'outside', 'secret.txt'), SECRET);
    const config = loadConfig({
      ...process.env,
      SLUICE_DATA_DIR: join(dir, 'data'),
      SLUICE_WINDOW_SECONDS: '1',
    });
    stack = await startStack({
      config,
      logger: pino({ level: 'error' }),
      collectorPort: 0,
      transport: 'spool',
    });
    await symlink(join(dir, 'secret.txt'), join(stack.rawBucketDir, 'link.ndjson'));
    await symlink(join(dir, 'outside'), join(config.bucketsDir, 'linked-bucket'));
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the loader and the collector listen on 127.0.0.1 only', async () => {
    const loaderPort = Number(new URL(stack.loaderUrl).port);
    const collectorPort = Number(new URL(stack.collectorUrl).port);
    expect(listeners(loaderPort)).toEqual([
      `0100007F:${loaderPort.toString(16).toUpperCase().padStart(4, '0')}`,
    ]);
    expect(listeners(collectorPort)).toHaveLength(1);
    expect(listeners(collectorPort)[0]).toMatch(/^0100007F:/);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: external.address, port: loaderPort });
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    }
  });

  it.each([
    ['../../outside', 'secret.txt'],
    ['../..', 'secret.txt'],
    ['..', '../secret.txt'],
    ['sluice-raw', '../../../secret.txt'],
    ['sluice-raw', '/etc/passwd'],
    ['sluice-raw', 'raw/../../../../secret.txt'],
    ['sluice-raw', 'link.ndjson'],
    ['linked-bucket', 'secret.txt'],
    ['sluice-raw/../..', 'secret.txt'],
  ])('CloudEvent bucket %j object %j is acknowledged and reads nothing', async (bucket, name) => {
    const request = finalizedCloudEvent({
      bucket,
      name,
      generation: '1',
      size: SECRET.length,
      time: new Date(),
    });
    const response = await fetch(stack.loaderUrl, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });
    await response.arrayBuffer();
    // 2xx: a problem no retry can fix is acknowledged (not retried forever), and nothing was loaded.
    expect(response.status).toBeLessThan(300);
  });

  it('after every probe, nothing of the secret is in the warehouse', async () => {
    const tables = await queryWarehouse(
      stack.duckdbPath,
      "SELECT table_name FROM information_schema.tables WHERE table_name IN ('tracks', '_sluice_failed_events', '_sluice_loads')",
    ).catch(() => ({ rows: [] as unknown[][] }));
    for (const [table] of tables.rows) {
      const dump = await queryWarehouse(stack.duckdbPath, `SELECT * FROM "${String(table)}"`);
      expect(JSON.stringify(dump.rows)).not.toMatch(/leak-1|Leaked/);
    }
  });
});
