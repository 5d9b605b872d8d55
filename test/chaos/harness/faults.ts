/** Faults the scenarios share: things done to the filesystem and to the warehouse file from outside. */
import { execFile, spawn } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pollUntil } from '@sluice/infra/local';
import { listDirectories } from './checks.ts';
import { dataDirMarker, identify, stopGroup } from './processes.ts';

const run = promisify(execFile);

export interface Held {
  release(): Promise<void>;
}

/**
 * Another process opens the warehouse read-write (DuckDB's per-process file lock) until `release()`. Its
 * environment carries the stack's SLUICE_DATA_DIR, so the leftover-process check covers it too.
 */
export async function holdWarehouse(repoRoot: string, duckdbPath: string, dataDir: string): Promise<Held> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'test', 'chaos', 'duckdb-holder.ts'), duckdbPath],
    {
      cwd: repoRoot,
      env: { ...process.env, SLUICE_DATA_DIR: dataDir },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the DuckDB holder');
  const marker = dataDirMarker(dataDir);
  // Our own child, not yet exited: its pid is still it.
  const identity = await identify(pid);
  const held = await pollUntil(
    async () => output.includes('held'),
    (h) => h || child.exitCode !== null,
    { initial: false, timeoutMs: 30_000, intervalMs: 50 },
  );
  if (!held) {
    await stopGroup(identity, marker, 1000);
    throw new Error(`the DuckDB holder did not take the lock: ${output.slice(-500)}`);
  }
  return {
    async release() {
      await stopGroup(identity, marker, 5000);
    },
  };
}

/**
 * Makes a directory tree read-only: `chattr +i` on every directory when running as root (root ignores mode
 * bits), otherwise mode 0555. `release()` restores it.
 */
export async function makeReadOnly(root: string): Promise<Held> {
  const dirs = await listDirectories(root);
  if (process.getuid?.() === 0) {
    await run('chattr', ['+i', ...dirs]);
    return {
      async release() {
        await run('chattr', ['-i', ...dirs]);
      },
    };
  }
  const modes = await Promise.all(dirs.map(async (d) => (await stat(d)).mode & 0o777));
  await Promise.all(dirs.map((d) => chmod(d, 0o555)));
  return {
    async release() {
      await Promise.all(dirs.map((d, i) => chmod(d, modes[i] ?? 0o755)));
    },
  };
}
