/**
 * `npm run dev` killed the hard way (issue 12 item 6, issue 13 item 5): no orphan outlives it, the next start
 * gets its port, and every event acknowledged before the kill (in the open window of the spool, the default
 * transport) is loaded exactly once after the restart. Also: a port already taken fails clearly, a dead loader
 * child stops dev with exit 1, and a configured SLUICE_WRITE_KEYS is not widened by the local key.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, queryWarehouse, waitFor } from '@sluice/infra/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cli, descendants, postBatch, processTable, runCli, stillAlive } from './local-process.ts';

const KEY = 'k-crash';

describe('npm run dev under SIGKILL (spool, the default transport)', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  const started: Cli[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-dev-crash-'));
    env = {
      ...process.env,
      SLUICE_DATA_DIR: dir,
      SLUICE_WINDOW_SECONDS: '600',
      SLUICE_WRITE_KEYS: `${KEY}=web`,
      SLUICE_WRITE_KEY: undefined,
      SLUICE_TRANSPORT: undefined,
      SLUICE_LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    for (const cli of started) {
      const pid = cli.child.pid;
      if (pid !== undefined && cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  });

  const startDev = async (port: number): Promise<{ cli: Cli; url: string }> => {
    const cli = runCli('dev', [], { ...env, SLUICE_PORT: String(port) });
    started.push(cli);
    const url = await waitFor(async () => /Collector URL : (http:\/\/\S+)/.exec(cli.output())?.[1], {
      what: 'npm run dev to come up',
      timeoutMs: 120_000,
      abandon: () => exited(cli),
    });
    return { cli, url };
  };
  const exited = (cli: Cli): string | undefined =>
    cli.child.exitCode !== null || cli.child.signalCode !== null ? `dev exited:\n${cli.output()}` : undefined;

  it('SIGKILL of the dev process: children die with it, the restart loads every acked event once', async () => {
    const port = await freePort();
    const { cli, url } = await startDev(port);
    expect(cli.output()).toContain(`Write key     : ${KEY}`);
    // SLUICE_WRITE_KEYS is set, so the local default key was not added.
    expect(await postBatch(url, 'sluice-local-key', ['crash-rejected'])).toBe(false);

    const acked: string[] = [];
    for (let b = 0; b < 10; b++) {
      const ids = Array.from({ length: 20 }, (_, i) => `crash-${b}-${i}`);
      if (await postBatch(url, KEY, ids)) acked.push(...ids);
    }
    expect(acked).toHaveLength(200);

    const pid = cli.child.pid ?? 0;
    const kids = descendants(pid);
    const commands = kids.map((k) => processTable().get(k)?.cmd ?? '').join('\n');
    expect(commands).toContain('publisher/src/server.ts');
    expect(commands).toContain('loader-server.ts');
    cli.child.kill('SIGKILL');
    await once(cli.child, 'close');
    await waitFor(async () => (stillAlive(kids).length === 0 ? true : undefined), {
      what: `no orphan of the killed dev (alive: ${stillAlive(kids).join(', ')})`,
      timeoutMs: 30_000,
    });

    // Same port: nothing holds it any more.
    const second = await startDev(port);
    const rows = await waitFor(
      async () => {
        const result = await queryWarehouse(
          join(dir, 'warehouse.duckdb'),
          "SELECT id, count(*) AS n FROM tracks WHERE starts_with(id, 'crash-') GROUP BY id",
        );
        return result.rows.length >= acked.length ? result.rows : undefined;
      },
      { what: 'every acknowledged event in DuckDB', timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(rows.map((r) => String(r[0])).sort()).toEqual([...acked].sort());
    expect(rows.every((r) => Number(r[1]) === 1)).toBe(true);

    const secondKids = descendants(second.cli.child.pid ?? 0);
    second.cli.child.kill('SIGTERM');
    const [code] = (await once(second.cli.child, 'close')) as [number | null];
    expect(code).toBe(0);
    expect(stillAlive(secondKids)).toEqual([]);
  }, 300_000);

  it('a loader child that dies is noticed: dev says so, stops the rest and exits 1', async () => {
    const { cli } = await startDev(0);
    const pid = cli.child.pid ?? 0;
    const kids = descendants(pid);
    const loader = kids.find((k) =>
      /child-guard\.ts .*loader-server\.ts/.test(processTable().get(k)?.cmd ?? ''),
    );
    expect(loader).toBeDefined();
    process.kill(-(loader ?? 0), 'SIGKILL');
    const [code] = (await once(cli.child, 'close')) as [number | null];
    expect(code).toBe(1);
    expect(cli.output()).toMatch(/SLUICE_ERR_LOCAL_CHILD_EXITED: the loader killed by SIGKILL/);
    expect(stillAlive(kids)).toEqual([]);
  }, 180_000);

  it('a port another process answers on fails clearly instead of reporting "stack up"', async () => {
    const squatter = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    const cli = runCli('dev', [], { ...env, SLUICE_PORT: String(port) });
    started.push(cli);
    const [code] = (await once(cli.child, 'close')) as [number | null];
    squatter.close();
    expect(code).toBe(1);
    expect(cli.output()).toContain('SLUICE_ERR_LOCAL_PORT_IN_USE');
    expect(cli.output()).not.toContain('Collector URL');
    expect(descendants(cli.child.pid ?? 0)).toEqual([]);
  }, 180_000);
});
