/**
 * Test fixture (child-process.test.ts): starts one guarded child that forks a grandchild, prints
 * `{"pgid":..., "grandchild":...}` on stdout, then waits to be killed. `guarded-parent.ts <dir> stubborn`: the child
 * and its grandchild ignore SIGTERM (as a process still draining does), so only the guard's SIGKILL ends them.
 */
import { join } from 'node:path';
import { startChild } from '../child-process.ts';

const [dir, mode] = process.argv.slice(2) as [string, string | undefined];
const script =
  mode === 'stubborn'
    ? 'trap "" TERM; sleep 600 & echo "grandchild $!"; while true; do sleep 0.1; done'
    : 'sleep 600 & echo "grandchild $!"; wait';
const child = startChild({
  name: 'sleeper',
  command: 'sh',
  args: ['-c', script],
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  cwd: dir,
  logFile: join(dir, 'sleeper.log'),
});
const started = Date.now();
const timer = setInterval(() => {
  const grandchild = /grandchild (\d+)/.exec(child.tail())?.[1];
  if (grandchild) {
    clearInterval(timer);
    process.stdout.write(`${JSON.stringify({ pgid: child.pid, grandchild: Number(grandchild) })}\n`);
  } else if (Date.now() - started > 20_000) {
    process.exit(3);
  }
}, 20);
setInterval(() => undefined, 60_000);
