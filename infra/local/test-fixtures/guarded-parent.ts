/**
 * Test fixture (child-process.test.ts): starts one guarded child that forks a grandchild, prints
 * `{"pgid":..., "grandchild":...}` on stdout, then waits to be killed.
 */
import { join } from 'node:path';
import { startChild } from '../child-process.ts';

const [dir] = process.argv.slice(2) as [string];
const child = startChild({
  name: 'sleeper',
  command: 'sh',
  args: ['-c', 'sleep 600 & echo "grandchild $!"; wait'],
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
