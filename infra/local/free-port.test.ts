import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, startChild } from './child-process.ts';
import { freePort, startOnFreePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';

// A child that listens on the port in its argv, the way loader-server.ts does: on EADDRINUSE it says so and exits 1.
const LISTENER = `
const server = require('node:net').createServer();
server.once('error', (e) => { process.stderr.write('cannot listen: ' + e.code + '\\n'); process.exit(1); });
server.listen(Number(process.argv[1]), '127.0.0.1', () => process.stdout.write('listening\\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
`;

describe('startOnFreePort: a port another process takes before the child listens', () => {
  let dir: string;
  let blocker: Server;
  let taken: number;
  const children: Child[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-free-port-'));
    // The race made certain: the first port handed out is one another process already listens on.
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    taken = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const child of children) await child.stop(2000);
    await new Promise((resolve) => blocker.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts `node -e script <port>` as child `name`. */
  const node =
    (name: string, script: string) =>
    (port: number): Child => {
      const child = startChild({
        name,
        command: process.execPath,
        args: ['-e', script, String(port)],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        cwd: dir,
        logFile: join(dir, `${name}-${port}.log`),
      });
      children.push(child);
      return child;
    };
  const start = node('listener', LISTENER);
  const ready = (_port: number, child: Child): Promise<void> =>
    waitFor(async () => (child.tail().includes('listening') ? true : undefined), {
      what: 'the listener',
      timeoutMs: 10_000,
      intervalMs: 20,
      abandon: () => child.exitReason(),
    }).then(() => undefined);
  /** `taken` first, then `rest` (free ports by default). */
  const portsFrom = (first: number[], rest: () => Promise<number> = freePort) => {
    const queue = [...first];
    return () => (queue.length > 0 ? Promise.resolve(queue.shift() as number) : rest());
  };

  it('starts the child again on another port, and reports the lost one', async () => {
    const retries: number[] = [];
    const { child, port } = await startOnFreePort({
      start,
      ready,
      ports: portsFrom([taken]),
      onRetry: (lost, _attempt, lostChild) => {
        retries.push(lost);
        expect(lostChild.exitReason()).toBeDefined();
      },
    });
    expect(retries).toEqual([taken]);
    expect(port).not.toBe(taken);
    expect(child.exitReason()).toBeUndefined();
    expect(child.tail()).toContain('listening');
  });

  it('gives up after its attempts, with the last start error', async () => {
    const retries: number[] = [];
    await expect(
      startOnFreePort({
        start,
        ready,
        attempts: 3,
        ports: () => Promise.resolve(taken),
        onRetry: (lost) => retries.push(lost),
      }),
    ).rejects.toThrow(/gave up waiting for the listener/);
    expect(retries).toEqual([taken, taken]);
  });

  it('does not retry a child that failed for another reason', async () => {
    let retried = false;
    const failing = node('failing', "process.stderr.write('bad config\\n'); process.exit(3)");
    await expect(startOnFreePort({ start: failing, ready, onRetry: () => (retried = true) })).rejects.toThrow(
      /gave up waiting/,
    );
    expect(retried).toBe(false);
  });
});
