/** Fuzz inside a running stack: generated requests over HTTP, generated raw files handed to the loader. */
import fc from 'fast-check';
import { fuzzRequests } from '../fuzz/collector-requests.ts';
import { describeFailure } from '../fuzz/describe-failure.ts';
import { rawLines } from '../fuzz/raw-lines.ts';
import { deliver, writeRawFile } from '../harness/raw-files.ts';
import type { Scenario } from '../harness/scenario.ts';

export const FUZZ: Record<string, Scenario> = {
  'fuzz-collector-http': {
    name: 'fuzz-collector-http',
    transport: 'spool',
    mayFail: (id) => id.includes('-fz-'),
    async fault(ctx) {
      const failure = await fc.check(
        fc.asyncProperty(fuzzRequests(ctx.stack.writeKey, `${ctx.name}-fz`, 6000), async (request) => {
          const response = await fetch(`${ctx.stack.collectorUrl}${request.url}`, {
            method: 'POST',
            headers: request.headers,
            body: request.body,
          });
          const text = await response.text();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          ctx.ledger.record(request.ids, response.status, body);
          if (response.status >= 500) throw new Error(`answered ${response.status}: ${text.slice(0, 200)}`);
        }),
        { numRuns: 150 },
      );
      if (failure.failed) ctx.problem(`collector fuzz over HTTP: ${describeFailure(failure)}`);
    },
  },
  'fuzz-raw-lines': {
    name: 'fuzz-raw-lines',
    transport: 'spool',
    // 40 files handed to the loader one after the other, ~2.5-4 s each here (one load at a time): the traffic is
    // paused meanwhile (its files would queue before each fuzz file), windows are longer, the run bound too.
    windowSeconds: 5,
    runSeconds: 300,
    mayFail: (id) => id.includes('-raw-'),
    async fault(ctx) {
      await ctx.traffic.pause();
      const failure = await fc.check(
        fc.asyncProperty(rawLines(`${ctx.name}-raw`, 6000), async (lines) => {
          const object = await writeRawFile(
            ctx.config.bucketsDir,
            ctx.config.rawBucket,
            lines.map((l) => l.text),
          );
          ctx.ledger.record(
            lines.flatMap((l) => (l.id ? [l.id] : [])),
            200,
            null,
          );
          // Retried until 2xx, as Eventarc does; 60 s covers queueing behind a window file (one load at a time).
          const answers = await deliver(ctx.stack.loaderUrl, object, 60_000);
          const last = answers.at(-1) ?? 0;
          if (last < 200 || last >= 300)
            throw new Error(`file not accepted within 60 s (answers ${answers.slice(0, 10).join(',')}...)`);
        }),
        // No shrinking: each step is a file through a running stack; the first counterexample is reported as is.
        { numRuns: 40, endOnFailure: true },
      );
      ctx.traffic.resume();
      if (failure.failed) ctx.problem(`raw-line fuzz: ${describeFailure(failure)}`);
    },
  },
};
