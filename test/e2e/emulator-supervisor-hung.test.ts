/**
 * The supervisor's other failure mode: an emulator that stops answering while its process lives on (a JVM stopped,
 * hung, or swapped out; gcloud's wrapper outliving its Java child). Watching only the exit would keep the gate
 * closed, and the collector answering 503, forever. Here the Java process is SIGSTOPped: the supervisor must take
 * it as hung after a few failed checks, stop that process group and bring up a working topology.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupAlive, loadConfig, waitFor } from '@sluice/infra/local';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { subscriptionExists } from '../../infra/local/emulator.ts';
import { type SupervisedEmulator, superviseEmulator } from '../../infra/local/emulator-supervisor.ts';
import { descendants, processTable } from './local-process.ts';

describe('emulator supervisor and a hung emulator', () => {
  let dir: string | undefined;
  let supervisor: SupervisedEmulator | undefined;
  afterAll(async () => {
    await supervisor?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('restarts an emulator that no longer answers though its process lives', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-emulator-hung-'));
    const config = loadConfig({ ...process.env, SLUICE_DATA_DIR: dir });
    const names = { project: 'demo', topic: 'hung-topic', subscription: 'hung-sub' };
    supervisor = await superviseEmulator({
      emulator: {
        project: names.project,
        env: config.childEnv,
        cwd: config.repoRoot,
        logFile: join(dir, 'emulator.log'),
        dataDir: join(dir, 'emulator'),
      },
      names,
      logger: pino({ level: 'silent' }),
      checkIntervalMs: 300,
      checkTimeoutMs: 1000,
    });
    const s = supervisor;
    const first = s.child;
    if (!first) throw new Error('no emulator process');
    const java = descendants(first.pid).find((pid) =>
      /^java .*pubsub-emulator/.test(processTable().get(pid)?.cmd ?? ''),
    );
    expect(java).toBeDefined();
    const before = s.recoveries;
    process.kill(java ?? 0, 'SIGSTOP');
    await waitFor(async () => (s.recoveries > before ? true : undefined), {
      what: 'the hung emulator replaced',
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    expect(s.child?.pid).not.toBe(first.pid);
    await waitFor(async () => (groupAlive(first.pid) ? undefined : true), {
      what: 'the hung emulator group gone',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    await s.whenReady();
    const upstream = s.upstream;
    if (!upstream) throw new Error('no upstream after the restart');
    expect(await subscriptionExists(upstream, names)).toBe(true);
  }, 150_000);
});
