/**
 * Killing and restarting the local stack's processes from outside, as an operator (or the OOM killer) would.
 * A process is restarted exactly as it ran: same argv, environment and working directory, read from /proc
 * before it is killed (Linux), so the harness never re-derives how the stack starts its children.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { groupAlive, pollUntil } from '@sluice/infra/local';

export interface ProcessImage {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface Spawned {
  name: string;
  /** Also its process group id. */
  pid: number;
}

const nulSplit = (buffer: Buffer): string[] => buffer.toString('utf8').split('\0').filter(Boolean);

/** The argv, environment and cwd of a running process. */
export async function processImage(pid: number): Promise<ProcessImage> {
  const [cmdline, environ, cwd] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`),
    readFile(`/proc/${pid}/environ`),
    readlink(`/proc/${pid}/cwd`),
  ]);
  const env: Record<string, string> = {};
  for (const entry of nulSplit(environ)) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { argv: nulSplit(cmdline), env, cwd };
}

/**
 * Starts `image` again in its own process group, output appended to `logFile`. Its stdin is a pipe this process
 * holds open: the local stack's children run under infra/local/child-guard.ts, which stops its command at
 * end-of-file on stdin (the supervisor gone), so the restarted process lives as long as the test does.
 */
export function respawn(name: string, image: ProcessImage, logFile: string): Spawned {
  const [command, ...args] = image.argv;
  if (!command) throw new Error(`${name}: empty argv`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    cwd: image.cwd,
    env: image.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  (child.stdin as Socket | null)?.unref();
  child.unref();
  return { name, pid: child.pid };
}

/** Sends `signal` to process group `pgid` and waits until the whole group is gone. */
export async function killGroup(pgid: number, signal: NodeJS.Signals, timeoutMs = 15_000): Promise<void> {
  try {
    process.kill(-pgid, signal);
  } catch {
    return;
  }
  const alive = await pollUntil(
    async () => groupAlive(pgid),
    (a) => !a,
    { initial: true, timeoutMs, intervalMs: 50 },
  );
  if (alive && signal !== 'SIGKILL') await killGroup(pgid, 'SIGKILL', 5000);
  else if (alive) throw new Error(`process group ${pgid} survived ${signal}`);
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export const stopGroup = (pgid: number, graceMs = 10_000): Promise<void> =>
  killGroup(pgid, 'SIGTERM', graceMs);

/** User + system CPU time of a process in clock ticks (/proc/<pid>/stat fields 14 and 15). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Processes (other than this one) whose environment carries `SLUICE_DATA_DIR=<dataDir>`: what a stack left. */
export async function processesOf(dataDir: string): Promise<{ pid: number; argv: string }[]> {
  const marker = `SLUICE_DATA_DIR=${dataDir}`;
  const found: { pid: number; argv: string }[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = nulSplit(await readFile(`/proc/${pid}/environ`));
      if (!environ.includes(marker)) continue;
      const argv = nulSplit(await readFile(`/proc/${pid}/cmdline`)).join(' ');
      // A zombie has an empty cmdline and is already dead.
      if (argv) found.push({ pid, argv: argv.slice(0, 200) });
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}
