/**
 * Runs one command of the local stack and ends it, and everything it forked, when the stack's supervisor dies,
 * however it dies (SIGKILL included): `node --import tsx child-guard.ts <command> [args...]`.
 *
 * The supervisor spawns this guard as the leader of a new process group, with a pipe as its stdin. The kernel
 * closes that pipe when the supervisor's process ends for any reason, so end-of-file on stdin means "the parent is
 * gone": the guard sends SIGTERM to the command's processes, SIGKILL after a grace period, and exits. The command
 * runs with stdout and stderr inherited (they reach the supervisor's log pipes directly) and its stdin closed.
 *
 * "The command's processes" are the guard's own group and, when the command moved itself into a group of its own
 * (gcloud does: its Java emulator then lives in gcloud's group, not the guard's), that group too. A SIGTERM the
 * supervisor's `stop()` sends to the guard's group is forwarded there; when the command exits, what it left
 * behind in its group is ended before the guard exits with the command's status.
 *
 * The guard must outlive its command's shutdown whatever happens to its own output: its stdout and stderr are pipes
 * to the supervisor, so once the supervisor is dead every write to them fails with EPIPE. Unhandled, that error
 * killed the guard right after its SIGTERM and before its SIGKILL, and a command still shutting down (a collector
 * draining towards a dead Pub/Sub gate) lived on with parent 1. Write errors on both streams are ignored.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** How long the command's processes may take to stop, before SIGKILL. */
const GRACE_MS = 10_000;

function signal(target: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * What the command left in this guard's group once it exited: processes of group `pgid` that are not this guard's
 * own children (tsx's esbuild service is one, and ends with the guard), from /proc/<pid>/stat (fields 4 and 5:
 * parent and group). Undefined where /proc cannot be read (then only the group signal itself is used).
 */
function leftInGroup(pgid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const found: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0]: the state (Z: a zombie, already dead); fields[1]: the parent; fields[2]: the process group.
      if (Number(fields[2]) === pgid && Number(fields[1]) !== process.pid && fields[0] !== 'Z')
        found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function main(argv: readonly string[]): void {
  // The supervisor gone, these pipes have no reader: a write must not take the guard down (see above).
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const [command, ...args] = argv;
  if (!command) {
    process.stderr.write('usage: child-guard <command> [args...]\n');
    process.exit(2);
  }
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const childPid = child.pid;
  /** The command's own group, when it made one (its pid is then its pgid). */
  const ownGroup = (sig: NodeJS.Signals | 0): boolean => childPid !== undefined && signal(-childPid, sig);
  const everything = (sig: NodeJS.Signals): void => {
    ownGroup(sig);
    signal(-process.pid, sig);
  };

  // The group's SIGTERM/SIGINT reached the command if it stayed in this group; forward it in case it did not.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => ownGroup(sig));

  child.once('error', (error) => {
    process.stderr.write(`child-guard: could not start ${command}: ${error.message}\n`);
    process.exit(127);
  });
  child.once('exit', (code, sig) => {
    // Whatever the command forked and left behind goes with it, then the guard reports how the command ended.
    everything('SIGTERM');
    const deadline = Date.now() + GRACE_MS;
    const finish = (): void => {
      const left = leftInGroup(process.pid) ?? [];
      if ((ownGroup(0) || left.length > 0) && Date.now() < deadline) {
        setTimeout(finish, 50);
        return;
      }
      ownGroup('SIGKILL');
      for (const pid of leftInGroup(process.pid) ?? []) signal(pid, 'SIGKILL');
      if (sig) {
        process.removeAllListeners(sig);
        process.kill(process.pid, sig);
      }
      process.exit(code ?? 1);
    };
    finish();
  });

  const parentGone = (): void => {
    process.stderr.write('child-guard: the supervisor is gone; stopping the command\n');
    everything('SIGTERM');
    // Not unref'd: the guard stays until its command's processes are gone, and SIGKILLs them after the grace.
    setTimeout(() => everything('SIGKILL'), GRACE_MS);
  };
  process.stdin.on('end', parentGone);
  process.stdin.on('error', parentGone);
  process.stdin.resume();
}

main(process.argv.slice(2));
