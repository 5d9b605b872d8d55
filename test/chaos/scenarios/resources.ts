/** Shared resources taken away for a while: the warehouse file, the bucket directory; and a burst of 10x the rate. */
import { existsSync } from 'node:fs';
import { pollUntil } from '@sluice/infra/local';
import { holdWarehouse, makeReadOnly } from '../harness/faults.ts';
import type { Scenario } from '../harness/scenario.ts';

export const RESOURCES: Record<string, Scenario> = {
  'duckdb-held': {
    name: 'duckdb-held',
    transport: 'spool',
    async fault(ctx) {
      const path = ctx.stack.duckdbPath;
      await pollUntil(async () => existsSync(path), Boolean, { initial: false, timeoutMs: 20_000 });
      const held = await holdWarehouse(ctx.config.repoRoot, path, ctx.dir);
      ctx.note('warehouse held by another process');
      // Held while 8 s of traffic are acknowledged (the collector does not need the warehouse).
      await ctx.acknowledgedMore(1200, 30_000);
      await held.release();
    },
  },

  'bucket-read-only-spool': {
    name: 'bucket-read-only-spool',
    transport: 'spool',
    async fault(ctx) {
      const held = await makeReadOnly(ctx.stack.rawBucketDir);
      await ctx.sentMore(600);
      await held.release();
    },
  },
  'bucket-read-only-pubsub': {
    name: 'bucket-read-only-pubsub',
    transport: 'pubsub',
    async fault(ctx) {
      const held = await makeReadOnly(ctx.stack.rawBucketDir);
      await ctx.sentMore(600);
      await held.release();
    },
  },

  'burst-10x': {
    name: 'burst-10x',
    transport: 'pubsub',
    async fault(ctx) {
      ctx.traffic.setRate(1500);
      if (!(await ctx.acknowledgedMore(4500, 30_000)))
        ctx.problem('the burst was not acknowledged within 30 s');
      ctx.traffic.setRate(150);
    },
  },
};
