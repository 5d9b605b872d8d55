/** CloudEvent deliveries as Eventarc makes them: the same one twice at once, different files at once, out of order. */
import { deliver } from '../harness/raw-files.ts';
import type { Scenario } from '../harness/scenario.ts';
import { craftedFiles, expectDelivered, idRange } from './helpers.ts';

export const DELIVERIES: Record<string, Scenario> = {
  'same-cloudevent-twice': {
    name: 'same-cloudevent-twice',
    transport: 'spool',
    windowSeconds: 3,
    async fault(ctx) {
      const [object] = await craftedFiles(ctx, [idRange(`${ctx.name}-file`, 2000)]);
      if (!object) return;
      const answers = await Promise.all([
        deliver(ctx.stack.loaderUrl, object),
        deliver(ctx.stack.loaderUrl, object),
      ]);
      for (const a of answers) expectDelivered(ctx, object.name, a);
      ctx.note(`answers ${answers.map((a) => a.join(',')).join(' / ')}`);
      ctx.expectOneLoad([object.name]);
    },
  },

  'different-files-at-once': {
    name: 'different-files-at-once',
    transport: 'spool',
    windowSeconds: 3,
    async fault(ctx) {
      const objects = await craftedFiles(
        ctx,
        [0, 1, 2].map((f) => idRange(`${ctx.name}-f${f}`, 2000)),
      );
      const answers = await Promise.all(objects.map((o) => deliver(ctx.stack.loaderUrl, o)));
      for (const [i, a] of answers.entries()) expectDelivered(ctx, objects[i]?.name ?? '', a);
      ctx.expectOneLoad(objects.map((o) => o.name));
    },
  },

  'out-of-order': {
    name: 'out-of-order',
    transport: 'spool',
    windowSeconds: 3,
    async fault(ctx) {
      // B is a later window that also carries half of A's messages again (Pub/Sub redelivery); B arrives first.
      const a = idRange(`${ctx.name}-a`, 1000);
      const b = [...idRange(`${ctx.name}-b`, 1000), ...a.slice(0, 500)];
      const t = Date.now();
      const [fileA, fileB] = await craftedFiles(ctx, [a, b], [new Date(t - 60_000), new Date(t)]);
      if (!fileA || !fileB) return;
      expectDelivered(ctx, fileB.name, await deliver(ctx.stack.loaderUrl, fileB));
      expectDelivered(ctx, fileA.name, await deliver(ctx.stack.loaderUrl, fileA));
      ctx.expectOneLoad([fileA.name, fileB.name]);
    },
  },
};
