/** Processes killed and restarted under steady traffic: the collector, the emulator, the stand-in's host, the loader. */
import { type LocalStack, pollUntil } from '@sluice/infra/local';
import { listRawFiles } from '../harness/checks.ts';
import {
  cpuTicks,
  dataDirMarker,
  identify,
  type ProcessIdentity,
  processTree,
} from '../harness/processes.ts';
import { deliver } from '../harness/raw-files.ts';
import type { Scenario } from '../harness/scenario.ts';
import { drain } from '../harness/settle.ts';
import { craftedFiles, everyAcknowledgedWritten, expectDelivered, idRange, nothing } from './helpers.ts';

/** The collector SIGKILLed under traffic and restarted: what it answered 200 for must still land once. */
function collectorSigkill(name: string, transport: Scenario['transport']): Scenario {
  return {
    name,
    transport,
    async fault(ctx) {
      await ctx.kill('collector', 'SIGKILL');
      await ctx.restart('collector');
    },
  };
}

/**
 * The emulator stopped by `signal` once every acknowledged id is in a raw file (it keeps nothing on disk: what it
 * acknowledged and had not delivered dies with it, the documented loss), then restarted by the supervisor.
 */
function emulatorRestart(name: string, signal: 'SIGTERM' | 'SIGKILL'): Scenario {
  return {
    name,
    transport: 'pubsub',
    async fault(ctx) {
      await everyAcknowledgedWritten(ctx);
      await ctx.kill('emulator', signal);
      // Traffic through the outage: the gate holds publishes, so nothing is answered 200 until the topology is back.
      ctx.traffic.resume();
      await ctx.restart('emulator');
    },
  };
}

export const PROCESSES: Record<string, Scenario> = {
  'steady-spool': { name: 'steady-spool', transport: 'spool', fault: nothing },
  'steady-pubsub': { name: 'steady-pubsub', transport: 'pubsub', fault: nothing },

  'collector-sigkill-spool': collectorSigkill('collector-sigkill-spool', 'spool'),
  'collector-sigkill-pubsub': collectorSigkill('collector-sigkill-pubsub', 'pubsub'),

  'emulator-sigterm-restart': emulatorRestart('emulator-sigterm-restart', 'SIGTERM'),
  'emulator-sigkill-restart': emulatorRestart('emulator-sigkill-restart', 'SIGKILL'),

  'standin-killed-after-write': {
    name: 'standin-killed-after-write',
    transport: 'pubsub',
    hosted: true,
    async fault(ctx) {
      // Traffic paused first: every acknowledged event is then in the window being closed (the emulator keeps
      // nothing across its own death, which is documented; this scenario is about the file).
      await ctx.traffic.pause();
      const before = new Set(await listRawFiles(ctx.stack.rawBucketDir));
      const fresh = await pollUntil(
        async () => (await listRawFiles(ctx.stack.rawBucketDir)).filter((f) => !before.has(f)),
        (files) => files.length > 0,
        { initial: [] as string[], timeoutMs: 10_000, intervalMs: 2 },
      );
      // The stand-in acks after the rename (the client sends acks in batches): killed now, the file is written
      // and neither acked nor announced.
      await ctx.kill('host', 'SIGKILL');
      ctx.note(`host killed right after ${fresh[0] ?? 'no file'} appeared`);
      await ctx.restart('host');
      ctx.traffic.resume();
    },
  },

  'loader-sigkill-mid-file': {
    name: 'loader-sigkill-mid-file',
    transport: 'spool',
    windowSeconds: 3,
    async fault(ctx) {
      // The loader idle first (traffic paused, backlog drained), so the CPU it spends next is this file's load.
      await ctx.traffic.pause();
      const idle = await drain(ctx.stack.rawBucketDir);
      ctx.note(`before the file: ${idle.pendingAtStart} files drained in ${idle.seconds} s`);
      const [object] = await craftedFiles(ctx, [idRange(`${ctx.name}-file`, 20_000)]);
      if (!object) return;
      const loader = await loaderProcess(ctx.stack.processes, dataDirMarker(ctx.dir));
      const before = await cpuTicks(loader.pid);
      const delivery = deliver(ctx.stack.loaderUrl, object, 120_000);
      // Mid-file: the loader process (not its guard) has spent 0.3 s of CPU since the CloudEvent was posted; a
      // 20k-line load takes several seconds.
      const ticks = await pollUntil(
        () => cpuTicks(loader.pid).catch(() => before),
        (t) => t - before >= 30,
        { initial: before, timeoutMs: 20_000, intervalMs: 20 },
      );
      if (ticks - before < 30)
        ctx.problem(`the loader spent only ${ticks - before} CPU ticks on the file in 20 s`);
      ctx.note(`killed after ${ticks - before} CPU ticks of the load`);
      await ctx.kill('loader', 'SIGKILL');
      ctx.traffic.resume();
      await ctx.restart('loader');
      expectDelivered(ctx, object.name, await delivery);
      ctx.expectOneLoad([object.name]);
    },
  },
};

/** The loader's own process (loader-server.ts), inside the group its guard leads. */
async function loaderProcess(processes: LocalStack['processes'], marker: string): Promise<ProcessIdentity> {
  const guard = processes.find((p) => p.name === 'loader');
  if (!guard) throw new Error('no loader');
  const group = await processTree(await identify(guard.pid), marker, 'group');
  const loader = group.find(
    (p) => p.cmdline.includes('loader-server.ts') && !p.cmdline.includes('child-guard'),
  );
  if (!loader) throw new Error(`no loader-server process in group ${guard.pid}`);
  return loader;
}
