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
 */
import { spawn } from 'node:child_process';

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

function main(argv: readonly string[]): void {
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
      if (ownGroup(0) && Date.now() < deadline) {
        setTimeout(finish, 50);
        return;
      }
      ownGroup('SIGKILL');
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
    setTimeout(() => everything('SIGKILL'), GRACE_MS).unref();
  };
  process.stdin.on('end', parentGone);
  process.stdin.on('error', parentGone);
  process.stdin.resume();
}

main(process.argv.slice(2));
