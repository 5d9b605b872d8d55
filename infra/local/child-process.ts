import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalError } from './errors.ts';

/** The guard every child runs under (see child-guard.ts): it ends the child's group when this process dies. */
const GUARD = fileURLToPath(new URL('./child-guard.ts', import.meta.url));
/** tsx's loader by absolute URL, so the guard starts from any working directory. */
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface ChildSpec {
  /** Short name for logs and errors: `emulator`, `collector`, `loader`. */
  name: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
}

export interface Child {
  readonly name: string;
  /** Also the process group id: every child leads its own group (spawned detached). */
  readonly pid: number;
  readonly logFile: string;
  /** Why the leader exited, or undefined while it runs. */
  exitReason(): string | undefined;
  /**
   * Calls `listener` once the leader has exited (with the same text `exitReason()` then returns); at once when it
   * already has (a caller that starts watching a child only once it answered must still hear of an exit before).
   */
  onExit(listener: (reason: string) => void): void;
  /** The last lines the child printed (for error messages). */
  tail(): string;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader and its group are gone. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = 4000;

/**
 * Whether any process of group `pgid` is alive. A zombie is not: a killed process whose parent died waits for PID 1
 * to reap it, and a container's PID 1 may be slow to (or never) do so, while `kill(-pgid, 0)` still finds the
 * zombie. On Linux the group is therefore read from /proc (state and pgrp of each process); elsewhere, or when
 * /proc cannot be read, the signal probe answers.
 */
export function groupAlive(pgid: number): boolean {
  const fromProc = groupAliveInProc(pgid);
  if (fromProc !== undefined) return fromProc;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** /proc/<pid>/stat after the command's closing parenthesis: `state ppid pgrp ...`. Undefined without /proc. */
function groupAliveInProc(pgid: number): boolean | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) < 48 || pid.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // it ended while we looked
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

async function waitGroupGone(pgid: number, deadline: number): Promise<boolean> {
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** The environment variable that tags every process of one child (its guard, the command, what that forks). */
const TAG_VARIABLE = 'SLUICE_CHILD_TAG';

/**
 * SIGKILLs every live process whose environment carries `tag` (Linux: /proc/<pid>/environ; elsewhere a no-op).
 * The tag is a random UUID given to one child only, so nothing else can match. What it finds: processes that left
 * the guard's group (gcloud makes a group of its own for itself and its Java emulator) and outlived a guard that
 * could not end them because it was itself SIGKILLed.
 */
async function killTagged(tag: string): Promise<number> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const needle = Buffer.from(`\0${TAG_VARIABLE}=${tag}\0`);
  let killed = 0;
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const environ = await readFile(`/proc/${pid}/environ`).catch(() => undefined);
    if (!environ || !Buffer.concat([Buffer.from([0]), environ]).includes(needle)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed += 1;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

/** Every group we started and have not yet seen gone: killed with SIGKILL if this process exits abruptly. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

/**
 * Starts a child in its own process group (detached), so that stopping it also stops what it forks
 * (the emulator's gcloud wrapper forks a Java process). Output goes to `logFile`, and a tail is kept in memory.
 * The command runs under child-guard.ts, which holds a pipe from this process: when this process dies, however it
 * dies (SIGKILL included, when no exit hook runs), the pipe closes and the guard ends the whole group, so no
 * collector or loader lives on as an orphan holding its port.
 */
export function startChild(spec: ChildSpec): Child {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const tag = randomUUID();
  const log: WriteStream = createWriteStream(spec.logFile, { flags: 'a' });
  let tail = '';
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', TSX_LOADER, GUARD, spec.command, ...spec.args],
    {
      cwd: spec.cwd,
      env: { ...spec.env, [TAG_VARIABLE]: tag },
      detached: true,
      // stdin: the lifeline the guard watches (never written; closed by the kernel when this process dies).
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  child.stdin?.on('error', () => undefined);
  if (child.pid === undefined) {
    log.end();
    throw new LocalError('SLUICE_ERR_LOCAL_CHILD_START', `${spec.name}: could not spawn ${spec.command}`);
  }
  const pid = child.pid;
  installExitHook();
  liveGroups.add(pid);
  const onData = (chunk: Buffer): void => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exitReason: string | undefined;
  const exitListeners: ((reason: string) => void)[] = [];
  let closed = false;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      exitReason ??= `spawn error: ${error.message}`;
    });
    // 'exit': the guard is gone. If it was killed (SIGKILL, a crash), processes it could not end may still run,
    // and they hold its stdout/stderr pipes open, so 'close' would never come: sweep them first (killTagged).
    child.once('exit', () => {
      void killTagged(tag).then((killed) => {
        if (killed > 0) {
          tail = `${tail}\n[${killed} processes the dead guard left were SIGKILLed]`.slice(-TAIL_BYTES);
        }
      });
    });
    child.once('close', (code, signal) => {
      exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      closed = true;
      child.stdin?.destroy();
      log.end();
      for (const listener of exitListeners) listener(exitReason);
      resolve();
    });
  });

  return {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    exitReason: () => exitReason,
    onExit(listener) {
      if (closed && exitReason !== undefined) listener(exitReason);
      else exitListeners.push(listener);
    },
    tail: () => tail,
    async stop(graceMs = 10_000) {
      signalGroup(pid, 'SIGTERM');
      const graceful = await waitGroupGone(pid, Date.now() + graceMs);
      if (!graceful) signalGroup(pid, 'SIGKILL');
      const gone = await waitGroupGone(pid, Date.now() + 5000);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (!gone) {
        throw new LocalError(
          'SLUICE_ERR_LOCAL_CHILD_STOP',
          `${spec.name} (process group ${pid}) is still alive`,
        );
      }
      liveGroups.delete(pid);
    },
  };
}
