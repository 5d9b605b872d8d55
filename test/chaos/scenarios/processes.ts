/** Processes killed and restarted under steady traffic: the collector, the emulator, the stand-in's host, the loader. */
import { pollUntil } from '@sluice/infra/local';
import { listRawFiles } from '../harness/checks.ts';
import { cpuTicks } from '../harness/processes.ts';
import { deliver } from '../harness/raw-files.ts';
import type { Scenario } from '../harness/scenario.ts';
import { craftedFiles, expectDelivered, expectOneLoad, idRange, nothing } from './helpers.ts';

export const PROCESSES: Record<string, Scenario> = {
  'steady-spool': { name: 'steady-spool', transport: 'spool', fault: nothing },
  'steady-pubsub': { name: 'steady-pubsub', transport: 'pubsub', fault: nothing },

  'collector-sigkill-spool': {
    name: 'collector-sigkill-spool',
    transport: 'spool',
    async fault(ctx) {
      await ctx.kill('collector', 'SIGKILL');
      await ctx.restart('collector');
    },
  },
  'collector-sigkill-pubsub': {
    name: 'collector-sigkill-pubsub',
    transport: 'pubsub',
    async fault(ctx) {
      await ctx.kill('collector', 'SIGKILL');
      await ctx.restart('collector');
    },
  },

  'emulator-sigterm-restart': {
    name: 'emulator-sigterm-restart',
    transport: 'pubsub',
    async fault(ctx) {
      await ctx.kill('emulator', 'SIGTERM');
      await ctx.restart('emulator');
    },
  },
  'emulator-sigkill-restart': {
    name: 'emulator-sigkill-restart',
    transport: 'pubsub',
    async fault(ctx) {
      await ctx.kill('emulator', 'SIGKILL');
      await ctx.restart('emulator');
    },
  },

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
    async fault(ctx) {
      const [object] = await craftedFiles(ctx, [idRange(`${ctx.name}-file`, 20_000)]);
      if (!object) return;
      const loader = ctx.stack.processes.find((p) => p.name === 'loader');
      if (!loader) throw new Error('no loader');
      const before = await cpuTicks(loader.pid);
      const delivery = deliver(ctx.stack.loaderUrl, object, 90_000);
      // Mid-file: the loader has spent 0.3 s of CPU since the CloudEvent was posted (a 20k-line load takes seconds).
      const ticks = await pollUntil(
        () => cpuTicks(loader.pid),
        (t) => t - before >= 30,
        { initial: before, timeoutMs: 20_000, intervalMs: 20 },
      );
      ctx.note(`killed after ${ticks - before} CPU ticks of the load`);
      await ctx.kill('loader', 'SIGKILL');
      await ctx.restart('loader');
      expectDelivered(ctx, object.name, await delivery);
      await expectOneLoad(ctx, [object.name]);
    },
  },
};
