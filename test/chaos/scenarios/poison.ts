/** Poison inputs mixed into normal traffic (issue 12 items 2, 7, 8, 9). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listRawFiles } from '../harness/checks.ts';
import { rowAsTextIsolated } from '../harness/isolated-warehouse.ts';
import { deliver, enrichedLine, writeRawFile } from '../harness/raw-files.ts';
import type { Scenario } from '../harness/scenario.ts';
import { batchBody, postBatch } from '../harness/traffic.ts';
import { deep, expectDelivered, idRange, normalEvent } from './helpers.ts';

export const POISON: Record<string, Scenario> = {
  'poison-lone-surrogate': {
    name: 'poison-lone-surrogate',
    transport: 'spool',
    mayFail: (id) => id.includes('-poison-'),
    async fault(ctx) {
      const p = `${ctx.name}-poison`;
      const events = [
        normalEvent(`${ctx.name}-ok-0`),
        normalEvent(`${p}-event`, { event: '\ud800' }),
        normalEvent(`${p}-property`, { properties: { note: 'x\udc00y' } }),
        normalEvent(`${p}-context`, { context: { campaign: { name: '\udbff' } } }),
        normalEvent(`${ctx.name}-ok-1`),
      ];
      const ids = events.map((e) => String(e.messageId));
      const { status } = await postBatch(ctx.target, ctx.ledger, ids, batchBody(events));
      ctx.note(`lone surrogates: collector answered ${status}`);
      if (status >= 500) ctx.problem(`lone surrogates: collector answered ${status}`);
    },
  },

  'poison-250-event-names': {
    name: 'poison-250-event-names',
    transport: 'spool',
    async fault(ctx) {
      const events = Array.from({ length: 250 }, (_, i) =>
        normalEvent(`${ctx.name}-name-${i}`, {
          event: `Chaos Name ${i}`,
          properties: { a: i, b: `text ${i}`, c: i % 2 === 0 },
        }),
      );
      const { status } = await postBatch(
        ctx.target,
        ctx.ledger,
        events.map((e) => String(e.messageId)),
        batchBody(events),
      );
      ctx.note(`250 event names in one request: collector answered ${status}`);
      if (status !== 200) ctx.problem(`250 event names: collector answered ${status}`);
    },
  },

  'poison-depth-5000': {
    name: 'poison-depth-5000',
    transport: 'spool',
    mayFail: (id) => id.includes('-deep'),
    async fault(ctx) {
      // Through the collector: the deep event must be refused with a coded 400, its siblings accepted.
      const ids = [`${ctx.name}-sib-0`, `${ctx.name}-deep-http`, `${ctx.name}-sib-1`];
      const body =
        `{"batch":[${JSON.stringify(normalEvent(ids[0] ?? ''))},` +
        `{"type":"track","messageId":"${ids[1]}","anonymousId":"a","event":"Deep","properties":${deep(5000)}},` +
        `${JSON.stringify(normalEvent(ids[2] ?? ''))}]}`;
      const { status, body: answer } = await postBatch(ctx.target, ctx.ledger, ids, body);
      const code = String((answer as { code?: unknown } | null)?.code ?? '');
      ctx.note(`depth 5,000 via the collector: ${status} ${code}`);
      if (status !== 400)
        ctx.problem(`depth 5,000 via the collector: answered ${status} ${code} (expected a coded 400)`);
      // In a raw file (a file the loader is handed, whatever wrote it): the load completes.
      const deepLine =
        `{"type":"track","messageId":"${ctx.name}-deep-file","anonymousId":"a","event":"Deep",` +
        `"timestamp":"${new Date().toISOString()}","receivedAt":"${new Date().toISOString()}","properties":${deep(5000)}}`;
      const okIds = idRange(`${ctx.name}-file-ok`, 50);
      const object = await writeRawFile(ctx.config.bucketsDir, ctx.config.rawBucket, [
        ...okIds.map((id) => enrichedLine(id, new Date())),
        deepLine,
      ]);
      ctx.ledger.record([...okIds, `${ctx.name}-deep-file`], 200, null);
      expectDelivered(
        ctx,
        'raw file with a depth-5,000 line',
        await deliver(ctx.stack.loaderUrl, object, 30_000),
      );
    },
  },

  'poison-big-integers': {
    name: 'poison-big-integers',
    transport: 'spool',
    async fault(ctx) {
      const id = `${ctx.name}-big`;
      const body =
        `{"batch":[{"type":"track","messageId":"${id}","anonymousId":"a","event":"Chaos Big Numbers",` +
        `"timestamp":"${new Date().toISOString()}","properties":{"n":9007199254740993,"m":12345678901234567890123}}]}`;
      const { status } = await postBatch(ctx.target, ctx.ledger, [id], body);
      if (status !== 200) ctx.problem(`big integers: collector answered ${status}`);
    },
    async verify(ctx) {
      const id = `${ctx.name}-big`;
      const digits = ['9007199254740993', '12345678901234567890123'];
      let rawLine: string | undefined;
      for (const name of await listRawFiles(ctx.stack.rawBucketDir)) {
        const text = await readFile(join(ctx.stack.rawBucketDir, name), 'utf8');
        rawLine ??= text.split('\n').find((l) => l.includes(`"${id}"`));
      }
      if (!rawLine) ctx.problem('big integers: no raw line with the event');
      else
        for (const d of digits)
          if (!rawLine.includes(d)) ctx.problem(`big integers: raw line lost ${d}: ${rawLine.slice(0, 300)}`);
      const rows = await rowAsTextIsolated(ctx.stack.duckdbPath, 'chaos_big_numbers', id).catch(() => []);
      const cells = rows.flatMap((r) => Object.values(r));
      for (const d of digits) {
        if (!cells.some((c) => c?.includes(d)))
          ctx.problem(`big integers: warehouse row lost ${d}: ${JSON.stringify(rows[0] ?? {})}`);
      }
    },
  },
};
