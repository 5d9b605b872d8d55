/**
 * Killing and restarting the local stack's processes from outside, as an operator (or the OOM killer) would.
 * A process is restarted exactly as it ran: same argv, environment and working directory, read from /proc
 * before it is killed (Linux), so the harness never re-derives how the stack starts its children.
 *
 * Never a bare recorded pid: with pid_max 32768 a pid the harness recorded may belong, by the time it signals,
 * to another program (a concurrent CI run's collector was once killed that way). Every process the harness
 * signals is first identified by its start time and command line (/proc/<pid>/stat field 22, /proc/<pid>/cmdline)
 * and by the scenario's data directory in its environment (`SLUICE_DATA_DIR=<unique temp dir>`), and is checked
 * again just before each signal. A group is signalled as a group only through its verified leader; the members of
 * a group whose leader is gone are signalled one by one, each verified.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { pollUntil } from '@sluice/infra/local';

export interface ProcessImage {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** Who a pid was when the harness looked: a later process with the same pid differs in start time or cmdline. */
export interface ProcessIdentity {
  pid: number;
  /** Clock ticks after boot (/proc/<pid>/stat field 22). */
  startTime: number;
  cmdline: string;
}

export interface Spawned {
  name: string;
  /** Also its process group id. */
  pid: number;
  identity: ProcessIdentity;
}

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  startTime: number;
}

const nulSplit = (buffer: Buffer): string[] => buffer.toString('utf8').split('\0').filter(Boolean);

async function procStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '', ppid: Number(f[1]), pgrp: Number(f[2]), startTime: Number(f[19]) };
  } catch {
    return undefined;
  }
}

const cmdlineOf = async (pid: number): Promise<string> =>
  nulSplit(await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0))).join(' ');

/** The identity of a live process (throws if it is gone or a zombie). */
export async function identify(pid: number): Promise<ProcessIdentity> {
  const stat = await procStat(pid);
  const cmdline = await cmdlineOf(pid);
  if (!stat || stat.state === 'Z' || !cmdline) throw new Error(`process ${pid} is gone`);
  return { pid, startTime: stat.startTime, cmdline };
}

/** Whether `identity` is still the live (non-zombie) process it was. */
export async function isSame(identity: ProcessIdentity): Promise<boolean> {
  const stat = await procStat(identity.pid);
  if (!stat || stat.state === 'Z' || stat.startTime !== identity.startTime) return false;
  return (await cmdlineOf(identity.pid)) === identity.cmdline;
}

async function carries(pid: number, marker: string): Promise<boolean> {
  try {
    return nulSplit(await readFile(`/proc/${pid}/environ`)).includes(marker);
  } catch {
    return false;
  }
}

/** The marker every process of a scenario's stack carries in its environment. */
export const dataDirMarker = (dataDir: string): string => `SLUICE_DATA_DIR=${dataDir}`;

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
export async function respawn(name: string, image: ProcessImage, logFile: string): Promise<Spawned> {
  const [command, ...args] = image.argv;
  if (!command) throw new Error(`${name}: empty argv`);
  // The stack tags each child's processes (child-process.ts) to sweep up what a dead guard left: the restarted
  // process is the harness's, not that child's, and must not carry its tag.
  const { SLUICE_CHILD_TAG: _tag, ...env } = image.env;
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    cwd: image.cwd,
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  (child.stdin as Socket | null)?.unref();
  child.unref();
  // Our own child: its pid cannot be another process's before it exits (and it has not been waited for yet).
  return { name, pid: child.pid, identity: await identify(child.pid) };
}

/**
 * What a kill reaches. `group`: the process group `root` leads (a guarded child and its command; the stack host
 * alone, whose children lead groups of their own and must notice its death by themselves). `tree`: also its
 * descendants and the members of every group one of them leads (gcloud moves itself and its Java emulator into a
 * group of their own, so the emulator's guard group alone is not the emulator).
 */
export type KillScope = 'group' | 'tree';

/** The processes `scope` reaches from `root` that carry `marker`. Empty when `root` is no longer who it was. */
export async function processTree(
  root: ProcessIdentity,
  marker: string,
  scope: KillScope,
): Promise<ProcessIdentity[]> {
  if (!(await isSame(root))) return [];
  const table = new Map<number, ProcStat>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const stat = await procStat(pid);
    if (stat && stat.state !== 'Z') table.set(pid, stat);
  }
  const chosen = new Set<number>([root.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, stat] of table) {
      if (chosen.has(pid)) continue;
      if (stat.pgrp === root.pid || (scope === 'tree' && (chosen.has(stat.ppid) || chosen.has(stat.pgrp)))) {
        chosen.add(pid);
        grew = true;
      }
    }
  }
  const tree: ProcessIdentity[] = [];
  for (const pid of chosen) {
    const stat = table.get(pid);
    if (!stat || !(await carries(pid, marker))) continue;
    const cmdline = await cmdlineOf(pid);
    if (cmdline) tree.push({ pid, startTime: stat.startTime, cmdline });
  }
  return tree;
}

/**
 * Signals every process of `tree`: each group through its leader (verified) when the leader is in the tree,
 * otherwise each member on its own (verified).
 */
async function signalTree(tree: readonly ProcessIdentity[], signal: NodeJS.Signals): Promise<void> {
  const live: { identity: ProcessIdentity; pgrp: number }[] = [];
  for (const identity of tree) {
    const stat = await procStat(identity.pid);
    if (stat && (await isSame(identity))) live.push({ identity, pgrp: stat.pgrp });
  }
  const leaders = new Set(live.filter((p) => p.pgrp === p.identity.pid).map((p) => p.identity.pid));
  for (const { identity, pgrp } of live) {
    // Checked again right before the signal: the window for a pid's reuse is this one await.
    if (!(await isSame(identity))) continue;
    try {
      if (leaders.has(pgrp)) {
        if (identity.pid === pgrp) process.kill(-pgrp, signal);
      } else {
        process.kill(identity.pid, signal);
      }
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Sends `signal` to what `scope` reaches from `root` (see processTree; default `group`) and waits until every process of it is gone; SIGKILL
 * after `timeoutMs` if it was another signal. Returns the processes it signalled.
 */
export async function killTree(
  root: ProcessIdentity,
  marker: string,
  signal: NodeJS.Signals,
  options: { scope?: KillScope; timeoutMs?: number } = {},
): Promise<ProcessIdentity[]> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const tree = await processTree(root, marker, options.scope ?? 'group');
  await signalTree(tree, signal);
  const allGone = async (): Promise<boolean> => {
    for (const p of tree) if (await isSame(p)) return false;
    return true;
  };
  const gone = await pollUntil(allGone, Boolean, { initial: false, timeoutMs, intervalMs: 50 });
  if (gone) return tree;
  if (signal !== 'SIGKILL') {
    await signalTree(tree, 'SIGKILL');
    if (await pollUntil(allGone, Boolean, { initial: false, timeoutMs: 5000, intervalMs: 50 })) return tree;
  }
  throw new Error(`processes survived ${signal}: ${tree.map((p) => p.pid).join(', ')}`);
}

/** SIGTERM to the group `root` leads, then SIGKILL after `graceMs`. */
export const stopGroup = (
  root: ProcessIdentity,
  marker: string,
  graceMs = 10_000,
): Promise<ProcessIdentity[]> => killTree(root, marker, 'SIGTERM', { timeoutMs: graceMs });

/** User + system CPU time of a process in clock ticks (/proc/<pid>/stat fields 14 and 15). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Processes (other than this one) whose environment carries `SLUICE_DATA_DIR=<dataDir>`: what a stack left. */
export async function processesOf(dataDir: string): Promise<(ProcessIdentity & { argv: string })[]> {
  const marker = dataDirMarker(dataDir);
  const found: (ProcessIdentity & { argv: string })[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!(await carries(pid, marker))) continue;
    // A zombie has an empty cmdline and is already dead.
    const identity = await identify(pid).catch(() => undefined);
    if (identity) found.push({ ...identity, argv: identity.cmdline.slice(0, 200) });
  }
  return found;
}

/** SIGKILLs each of `processes` that is still the process it was (leftovers found by processesOf). */
export async function killEach(processes: readonly ProcessIdentity[]): Promise<void> {
  for (const p of processes) {
    if (!(await isSame(p))) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
