/**
 * Runs one command of the local stack and ends its whole process group when the stack's supervisor dies, however
 * it dies (SIGKILL included): `node --import tsx child-guard.ts <command> [args...]`.
 *
 * The supervisor spawns this guard as the leader of a new process group, with a pipe as its stdin. The kernel
 * closes that pipe when the supervisor's process ends for any reason, so end-of-file on stdin means "the parent is
 * gone": the guard sends SIGTERM to its group (the command and whatever it forked, e.g. gcloud's Java emulator),
 * SIGKILL after a grace period, and exits. The command itself runs in the same group with stdout and stderr
 * inherited (they reach the supervisor's log pipes directly) and its stdin closed.
 *
 * A SIGTERM sent to the group by the supervisor's orderly `stop()` reaches the command too; the guard then waits
 * for the command and exits with its status, so the supervisor sees how the command ended.
 */
import { spawn } from 'node:child_process';

/** How long the command may take to stop after its parent died, before SIGKILL. */
const ORPHAN_GRACE_MS = 10_000;

function main(argv: readonly string[]): void {
  const [command, ...args] = argv;
  if (!command) {
    process.stderr.write('usage: child-guard <command> [args...]\n');
    process.exit(2);
  }
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-process.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  // The group's SIGTERM/SIGINT is for the command; the guard outlives it to report its status.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);

  child.once('error', (error) => {
    process.stderr.write(`child-guard: could not start ${command}: ${error.message}\n`);
    process.exit(127);
  });
  child.once('exit', (code, signal) => {
    // Whatever the command forked and left behind goes with it.
    signalGroup('SIGTERM');
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });

  const parentGone = (): void => {
    process.stderr.write('child-guard: the supervisor is gone; stopping the process group\n');
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), ORPHAN_GRACE_MS).unref();
  };
  process.stdin.on('end', parentGone);
  process.stdin.on('error', parentGone);
  process.stdin.resume();
}

main(process.argv.slice(2));
