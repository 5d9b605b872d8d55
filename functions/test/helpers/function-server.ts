import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { finalizedCloudEvent } from '@sluice/sdk/protocol';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Builds the function's esbuild bundle (what users deploy and what functions-framework serves). */
export function buildBundle(): void {
  execFileSync('npm', ['run', '-s', 'build', '-w', 'functions'], { cwd: root, stdio: 'ignore' });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function waitFor(check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met before the deadline');
}

export interface FunctionServer {
  port: number;
  child: ChildProcess;
  /** Everything the function logged so far (pino JSON lines on stdout, plus stderr). */
  logs(): string;
  /** The parsed `file loaded` log lines so far. */
  fileLoaded(): Record<string, unknown>[];
  post(object: { bucket?: string; name: string; generation: string }, body?: string): Promise<Response>;
  stop(): void;
}

/** Which entry point of the bundle to serve, and how to tell it is up. */
export interface FunctionTarget {
  target: string;
  signature: 'cloudevent' | 'http';
  /**
   * `request`: any HTTP answer (a GET to a CloudEvent target is refused without side effects); `connect`: the port
   * accepts a connection (for an HTTP target whose every request does work).
   */
  ready: 'request' | 'connect';
}

const LOAD_EVENTS: FunctionTarget = { target: 'loadEvents', signature: 'cloudevent', ready: 'request' };

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** The built bundle served by functions-framework on a free port, with `env` on top of this process's. */
export async function startFunction(
  env: Record<string, string>,
  entry: FunctionTarget = LOAD_EVENTS,
): Promise<FunctionServer> {
  const port = await freePort();
  let logs = '';
  const child = spawn(
    path.join(root, 'node_modules/.bin/functions-framework'),
    [
      `--source=${path.join(root, 'functions/dist/index.js')}`,
      `--target=${entry.target}`,
      `--signature-type=${entry.signature}`,
      `--port=${port}`,
    ],
    {
      env: { ...process.env, SLUICE_LOG_LEVEL: 'info', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  await waitFor(
    async () =>
      entry.ready === 'connect'
        ? accepts(port)
        : (await fetch(`http://127.0.0.1:${port}/`, { method: 'GET' })).status > 0,
    20_000,
  );
  return {
    port,
    child,
    logs: () => logs,
    fileLoaded: () =>
      logs
        .split('\n')
        .filter((l) => l.includes('"message":"file loaded"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    post(object, body) {
      const req = finalizedCloudEvent({
        bucket: object.bucket ?? 'sluice-raw',
        name: object.name,
        generation: object.generation,
        size: 1,
        time: new Date(),
      });
      return fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: req.headers,
        body: body ?? req.body,
      });
    },
    stop() {
      if (!child.pid) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}
