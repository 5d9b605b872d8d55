/**
 * The harness never signals a bare recorded pid: a pid reused by another program (pid_max 32768; a concurrent CI
 * run's collector was once killed that way) differs in start time or command line, or lacks the scenario's
 * data-dir marker, and is left alone. And a kill of the emulator reaches the group gcloud makes for itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { identify, isSame, killTree, processTree } from './processes.ts';

const MARKER = `SLUICE_DATA_DIR=/tmp/sluice-chaos-processes-test-${process.pid}`;
const started: ChildProcess[] = [];

/** A shell in its own group (as the stack's guards are) carrying `env`; prints `ready <pid of its grandchild>`. */
async function group(script: string, env: Record<string, string>): Promise<{ pid: number; inner: number }> {
  const child = spawn('sh', ['-c', `${script} echo "ready $!"; wait`], {
    detached: true,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  started.push(child);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  for (let i = 0; i < 200 && !/ready \d+/.test(out); i++) await new Promise((r) => setTimeout(r, 25));
  const inner = Number(/ready (\d+)/.exec(out)?.[1]);
  if (!child.pid || !inner) throw new Error(`the shell did not start: ${out}`);
  return { pid: child.pid, inner };
}

/** Alive and not a zombie (a killed process stays a zombie until its parent, or init, reaps it). */
const alive = (pid: number): Promise<boolean> =>
  identify(pid).then(
    () => true,
    () => false,
  );

afterEach(() => {
  for (const child of started.splice(0)) {
    // Our own ChildProcess objects: Node knows whether each is still the process it started.
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

describe('chaos harness: identity-checked kills', () => {
  it('kills a verified group, and leaves a pid whose start time or cmdline no longer match', async () => {
    const { pid, inner } = await group('sleep 600 &', { SLUICE_DATA_DIR: MARKER.split('=')[1] ?? '' });
    const identity = await identify(pid);
    expect(await isSame(identity)).toBe(true);

    // The same pid, as if reused by another program: a different start time, or another command line.
    expect(await killTree({ ...identity, startTime: identity.startTime + 1 }, MARKER, 'SIGKILL')).toEqual([]);
    expect(await killTree({ ...identity, cmdline: 'node other.js' }, MARKER, 'SIGKILL')).toEqual([]);
    expect((await alive(pid)) && (await alive(inner))).toBe(true);
    // Right identity but not this scenario's process (no marker in its environment): left alone too.
    expect(await killTree(identity, 'SLUICE_DATA_DIR=/elsewhere', 'SIGKILL')).toEqual([]);
    expect(await alive(inner)).toBe(true);

    const killed = await killTree(identity, MARKER, 'SIGKILL');
    expect(killed.map((p) => p.pid).sort()).toEqual([pid, inner].sort());
    expect(await alive(inner)).toBe(false);
    expect(await isSame(identity)).toBe(false);
  });

  it("scope 'tree' reaches a descendant that made a group of its own (as gcloud does); 'group' does not", async () => {
    const env = { SLUICE_DATA_DIR: MARKER.split('=')[1] ?? '' };
    const { pid, inner } = await group('setsid sleep 600 &', env);
    const identity = await identify(pid);
    const own = await processTree(identity, MARKER, 'group');
    expect(own.map((p) => p.pid)).not.toContain(inner);
    const tree = await processTree(identity, MARKER, 'tree');
    expect(tree.map((p) => p.pid)).toContain(inner);
    await killTree(identity, MARKER, 'SIGKILL', { scope: 'tree' });
    expect(await alive(inner)).toBe(false);
  });
});
