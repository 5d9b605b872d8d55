import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free loopback TCP port (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PubSubEmulator {
  host: string;
  /** Kills the whole process group (gcloud forks a java child) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same host:port (state is lost, as with the real emulator). */
  restart(): Promise<void>;
  /** Freezes the process group (SIGSTOP): a broker that accepts connections but never answers. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
}

async function waitReady(host: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pubsub emulator exited with ${child.exitCode}`);
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pubsub emulator on ${host} not ready after ${deadlineMs} ms`);
}

/**
 * Starts the real gcloud Pub/Sub emulator on a free loopback port, detached in its own process group.
 * For tests and benches.
 */
export async function startPubSubEmulator(options: { project?: string; readyTimeoutMs?: number } = {}) {
  const host = `127.0.0.1:${await freePort()}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(
      'gcloud',
      [
        'beta',
        'emulators',
        'pubsub',
        'start',
        `--host-port=${host}`,
        `--project=${options.project ?? 'demo'}`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    await waitReady(host, child, options.readyTimeoutMs ?? 60_000);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c?.pid || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    // The java child may outlive the group leader's exit for a moment: wait for the port to close.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        await fetch(`http://${host}/`, { signal: AbortSignal.timeout(300) });
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await start();
  const signal = (name: NodeJS.Signals): void => {
    if (child?.pid) process.kill(-child.pid, name);
  };
  const emulator: PubSubEmulator = {
    host,
    stop,
    restart: start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
  return emulator;
}
