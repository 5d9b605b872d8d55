import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupAlive, startChild } from './child-process.ts';
import { waitFor } from './wait-for.ts';

describe('child process groups', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-child-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  /** Alive and not a zombie (/proc/<pid>/stat state): a killed orphan stays a zombie until PID 1 reaps it, which a
   * container's PID 1 may do late (seen: over 20 s in CI). */
  const alive = (pid: number): boolean => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };

  // kill(-pgid, 0) succeeds for a group whose only member is a zombie, so a killed orphan that PID 1 had not yet
  // reaped kept the group "alive" (a CI timeout). The zombie here is held by a live parent outside its group that
  // never waits for it, so it stays a zombie for as long as the test looks.
  it('a group whose only member is a zombie is not alive', async () => {
    const holder = spawn(
      'python3',
      [
        '-c',
        'import os,time\npid=os.fork()\nif pid==0:\n  os.setpgid(0,0)\n  os._exit(0)\nprint(pid,flush=True)\ntime.sleep(60)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(holder.stdout, 'data')) as [Buffer];
      const zombie = Number(line.toString('utf8').trim());
      await waitFor(async () => (alive(zombie) ? undefined : true), {
        what: 'the child to exit',
        timeoutMs: 5000,
      });
      expect(() => process.kill(-zombie, 0)).not.toThrow(); // the signal probe alone would call it alive
      expect(groupAlive(zombie)).toBe(false);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  // The local stack watches a child only once it answers (a child that lost its port is started again unwatched):
  // a listener added after the exit must still be told.
  it('onExit tells a listener added after the child exited, once', async () => {
    const child = startChild({
      name: 'brief',
      command: process.execPath,
      args: ['-e', 'process.exit(7)'],
      env,
      cwd: dir,
      logFile: join(dir, 'brief.log'),
    });
    const before = new Promise<string>((resolve) => child.onExit(resolve));
    expect(await before).toBe('exited with code 7');
    const told: string[] = [];
    child.onExit((reason) => told.push(reason));
    expect(told).toEqual(['exited with code 7']);
  });

  it('stop() ends the leader and what it forked, and logs output to the log file', async () => {
    const logFile = join(dir, 'fork.log');
    const child = startChild({
      name: 'fork',
      command: 'sh',
      args: ['-c', 'echo started; sleep 60 & echo "grandchild $!"; wait'],
      env,
      cwd: dir,
      logFile,
    });
    await waitFor(async () => (child.tail().includes('grandchild') ? true : undefined), {
      what: 'fork output',
      timeoutMs: 5000,
    });
    const grandchild = Number(/grandchild (\d+)/.exec(child.tail())?.[1]);
    expect(groupAlive(child.pid)).toBe(true);
    await child.stop(2000);
    expect(groupAlive(child.pid)).toBe(false);
    expect(alive(grandchild)).toBe(false);
    expect(child.exitReason()).toBeDefined();
    expect(await readFile(logFile, 'utf8')).toContain('started');
  });

  it('SIGKILLs a group that ignores SIGTERM after the grace period', async () => {
    const child = startChild({
      name: 'stubborn',
      command: 'sh',
      args: ['-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done'],
      env,
      cwd: dir,
      logFile: join(dir, 'stubborn.log'),
    });
    await waitFor(async () => (child.tail().includes('ready') ? true : undefined), {
      what: 'ready',
      timeoutMs: 5000,
    });
    const started = Date.now();
    await child.stop(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(groupAlive(child.pid)).toBe(false);
  });

  // gcloud moves itself and its Java emulator into a group of their own: if the guard itself is SIGKILLed, no
  // group signal reaches them and nothing else would end them. The supervisor sweeps them up by the child's tag.
  it('a SIGKILLed guard: what its command moved out of the group is killed by the supervisor', async () => {
    const child = startChild({
      name: 'own-group',
      command: 'sh',
      args: ['-c', 'setsid sleep 600 & echo "grandchild $!"; wait'],
      env,
      cwd: dir,
      logFile: join(dir, 'own-group.log'),
    });
    const grandchild = await waitFor(async () => /grandchild (\d+)/.exec(child.tail())?.[1], {
      what: 'the grandchild',
      timeoutMs: 10_000,
    });
    const exited = new Promise<void>((resolve) => child.onExit(() => resolve()));
    process.kill(child.pid, 'SIGKILL');
    await exited;
    expect(child.exitReason()).toBe('killed by SIGKILL');
    await waitFor(
      async () =>
        !alive(Number(grandchild)) && child.tail().includes('processes the dead guard left were SIGKILLed')
          ? true
          : undefined,
      { what: 'the grandchild in its own session to be killed', timeoutMs: 5000 },
    );
  });

  const killParentAndWait = async (mode: string[]): Promise<void> => {
    const fixture = fileURLToPath(new URL('./test-fixtures/guarded-parent.ts', import.meta.url));
    const parent = spawn(process.execPath, ['--import', 'tsx', fixture, dir, ...mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const { pgid, grandchild } = await waitFor(
      async () =>
        out.includes('\n') ? (JSON.parse(out) as { pgid: number; grandchild: number }) : undefined,
      { what: 'the fixture to start its child', timeoutMs: 20_000 },
    );
    expect(groupAlive(pgid)).toBe(true);
    parent.kill('SIGKILL');
    await once(parent, 'close');
    await waitFor(async () => (groupAlive(pgid) ? undefined : true), {
      what: 'the orphaned group to end',
      timeoutMs: 20_000,
    });
    expect(alive(grandchild)).toBe(false);
  };

  it('a SIGKILLed parent takes its children with it (the guard watches its stdin pipe)', async () => {
    await killParentAndWait([]);
  });

  // The guard's stdout/stderr are pipes to the dead parent: its own "supervisor is gone" line failed with EPIPE,
  // which killed the guard between its SIGTERM and its SIGKILL, and a command still shutting down (a collector
  // draining towards the dead Pub/Sub gate) lived on with parent 1 (the chaos suite's standin-killed-after-write).
  it('a SIGKILLed parent takes with it a child that ignores SIGTERM (the guard lives on to SIGKILL it)', async () => {
    await killParentAndWait(['stubborn']);
  }, 30_000);
});
