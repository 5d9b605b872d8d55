/**
 * The local stack hosted by a child process (test/chaos/stack-host.ts), as `npm run dev` hosts it: killing that
 * process kills the storage-subscription stand-in it runs. Seen from the scenario as a LocalStack whose only
 * process is `host` (the stack's own children are found through their environment by the leftover check).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type LocalConfig, type LocalStack, pollUntil } from '@sluice/infra/local';
import { dataDirMarker, identify, type ProcessIdentity, stopGroup } from './processes.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

export interface HostedStack {
  stack: LocalStack;
  /** The host's current process (its group's leader): replaced when the scenario restarts it. */
  host: { current: ProcessIdentity };
}

export async function startHostedStack(
  config: LocalConfig,
  transport: 'spool' | 'pubsub',
): Promise<HostedStack> {
  const port = await freePort();
  const log = createWriteStream(join(config.dataDir, 'stack-host.log'), { flags: 'a' });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(config.repoRoot, 'test', 'chaos', 'stack-host.ts')],
    {
      cwd: config.repoRoot,
      env: { ...config.childEnv, SLUICE_TRANSPORT: transport, SLUICE_PORT: String(port) },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the stack host');
  const marker = dataDirMarker(config.dataDir);
  // Our own child, not yet exited: its pid is still it.
  const host = { current: await identify(pid) };
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.pipe(log);
  const line = await pollUntil(
    async () => output.split('\n').find((l) => l.startsWith('{')),
    (l) => l !== undefined || child.exitCode !== null,
    { initial: undefined, timeoutMs: 90_000, intervalMs: 100 },
  );
  if (!line) {
    await stopGroup(host.current, marker, 1000);
    throw new Error(
      `the stack host did not start (exit ${child.exitCode}); log ${join(config.dataDir, 'stack-host.log')}`,
    );
  }
  const info = JSON.parse(line) as { collectorUrl: string; loaderUrl: string };
  const stack: LocalStack = {
    transport,
    collectorUrl: info.collectorUrl,
    writeKey: config.writeKey,
    duckdbPath: config.duckdbPath,
    dataDir: config.dataDir,
    rawBucketDir: join(config.bucketsDir, config.rawBucket),
    loaderUrl: info.loaderUrl,
    emulatorHost: undefined,
    emulator: undefined,
    childExited: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ name: 'host', reason: signal ?? `exit ${code}` })),
    ),
    processes: [{ name: 'host', pid, logFile: join(config.dataDir, 'stack-host.log') }],
    standIn: undefined,
    stop: async () => {
      await stopGroup(host.current, marker, 40_000);
    },
  };
  return { stack, host };
}
