/** Shared by the local-stack crash tests: run a CLI as a child, read what it prints, list process trees. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface Cli {
  child: ChildProcess;
  output(): string;
}

/** `node --import tsx infra/local/cli/<name>.ts ...args`, as `npm run <name>` runs it. */
export function runCli(name: 'dev' | 'demo', args: string[], env: Record<string, string | undefined>): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', `infra/local/cli/${name}.ts`, ...args], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const add = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return { child, output: () => out };
}

/** Every live process as pid -> { ppid, pgid, cmd } (from `ps`). */
export function processTable(): Map<number, { ppid: number; pgid: number; cmd: string }> {
  const text = execFileSync('ps', ['-eo', 'pid=,ppid=,pgid=,args='], { encoding: 'utf8' });
  const table = new Map<number, { ppid: number; pgid: number; cmd: string }>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) table.set(Number(m[1]), { ppid: Number(m[2]), pgid: Number(m[3]), cmd: m[4] ?? '' });
  }
  return table;
}

/** The pids of every descendant of `pid` (children, grandchildren, ...), from a process listing. */
export function descendants(pid: number): number[] {
  const table = processTable();
  const out: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, info] of table) {
      if (info.ppid === parent) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** Of `pids`, those still alive (zombies count as gone). */
export function stillAlive(pids: readonly number[]): number[] {
  const table = processTable();
  return pids.filter((pid) => table.has(pid) && !/<defunct>/.test(table.get(pid)?.cmd ?? ''));
}

/** POSTs one batch of track events with these message ids; true on 200 (the ids are acknowledged). */
export async function postBatch(
  collectorUrl: string,
  writeKey: string,
  ids: readonly string[],
): Promise<boolean> {
  const response = await fetch(`${collectorUrl}/v1/batch`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      batch: ids.map((messageId) => ({ type: 'track', event: 'Crash Probe', messageId, anonymousId: 'a1' })),
    }),
    signal: AbortSignal.timeout(15_000),
  }).catch(() => undefined);
  await response?.arrayBuffer();
  return response?.status === 200;
}
