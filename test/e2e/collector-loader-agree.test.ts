/**
 * Collector and loader agree (issue 12, items 2, 3 and 9): fast-check generates requests with adversarial values in
 * every field (big integers, -0, 1e400, lone surrogates in strings and keys, deep nesting, every JSON type where
 * another belongs, timestamps across and beyond years 0000-9999). Through the collector's public app:
 * never a 5xx, the published count is what the answer says, and every accepted event's line is one line of
 * well-formed JSON holding the client's members byte for byte. Then the loader's own command (`npm run load`)
 * loads every accepted line into DuckDB: none fails, none is lost.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { queryWarehouse } from '@sluice/infra/local';
import { buildApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import { checkEvent, EVENT_TEXT_LIMITS, JsonTextScanner, rawLine } from '@sluice/sdk/protocol';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'fuzz-key';
const AUTH = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;
const SET_BY_COLLECTOR = new Set([
  'type',
  'writeKey',
  'receivedAt',
  'timestamp',
  'sourceId',
  'context',
  'originalTimestamp',
]);

// ------------------------------------------------------------------ generators of JSON *text*

const numberText = fc.oneof(
  fc.constantFrom(
    '9007199254740993',
    '-9007199254740993',
    '12345678901234567890123',
    '1e400',
    '-1e400',
    '1e-400',
    '-0',
    '-0.0',
    '0.10',
    '1E+2',
    '0',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
);
const stringText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 8 }).map((s) => JSON.stringify(s)) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }).map((s) => JSON.stringify(s)),
  },
  fc.constantFrom(
    '"\\ud800"',
    '"x\\udc00"',
    '"\\ud83d\\ude00"',
    '"😀"',
    '"a\\u0000b"',
    '"\\u2028"',
    '""',
    '"é"',
  ),
);
const keyText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)) },
  fc.constantFrom('"__proto__"', '""', '"ip"', '"a b"', '"\\ud800"', '"constructor"', '"x"', '"H"', '"id"'),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
);
const deepText = fc
  .tuple(fc.integer({ min: 1, max: 90 }), fc.boolean())
  .map(([n, arrays]) =>
    arrays ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"d":'.repeat(n)}1${'}'.repeat(n)}`,
  );
const { value: valueText } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: numberText },
    { weight: 3, arbitrary: stringText },
    fc.constantFrom('true', 'false', 'null'),
    deepText,
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(keyText, tie('value')), { maxLength: 4 })
      .map((m) => `{${m.map(([k, v]) => `${k}:${v}`).join(',')}}`),
  ),
}));
const objectText = fc
  .array(fc.tuple(keyText, valueText), { maxLength: 5 })
  .map((m) => `{${m.map(([k, v]) => `${k}:${v}`).join(',')}}`);
const dateTimeText = fc.oneof(
  fc
    .date({
      min: new Date('0000-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    })
    .map((d) => JSON.stringify(d.toISOString())),
  fc.constantFrom(
    '"9999-12-31T23:59:59.999Z"',
    '"0000-01-01T00:00:00.000Z"',
    '"0000-01-01T00:00:00+01:00"',
    '"9999-12-31T23:59:59-01:00"',
    '"2024-05-01T12:00:00.123456789Z"',
    '"2024-05-01t12:00:00z"',
    '"2024-05-01 12:00"',
    '"2024-02-30T00:00:00Z"',
    '"2024-05-01"',
  ),
);
const goodDateText = fc.oneof(
  fc
    .date({
      min: new Date('0000-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    })
    .map((d) => JSON.stringify(d.toISOString())),
  fc.constantFrom(
    '"9999-12-31T23:59:59.999Z"',
    '"0000-01-01T00:00:00.000Z"',
    '"0000-01-01T00:00:00+01:00"',
    '"9999-12-31T23:59:59-01:00"',
    '"2024-05-01T12:00:00.123456789Z"',
    '"2024-05-01t12:00:00z"',
  ),
);
const idText = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('"u1"', '"anon-1"') },
  stringText,
  fc.constantFrom('""', '42', '9007199254740993', 'null'),
);

/** Every optional member of an event, with a value the protocol accepts (or nearly: ids, strings and dates vary). */
const eventMembers = fc.record(
  {
    userId: idText,
    anonymousId: idText,
    messageId: fc.constant('"@ID"'),
    timestamp: goodDateText,
    originalTimestamp: goodDateText,
    sentAt: goodDateText,
    receivedAt: goodDateText,
    context: objectText,
    properties: objectText,
    traits: objectText,
    integrations: fc.constantFrom('{"All":true}', '{"Mixpanel":{"x":1e400}}', '{}'),
    groupId: idText,
    previousId: idText,
    name: stringText,
    category: stringText,
    version: numberText,
    channel: stringText,
    writeKey: fc.constant(`"${KEY}"`),
    sourceId: stringText,
  },
  { requiredKeys: [] },
);
const TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'];
const extraMembers = fc.array(fc.tuple(keyText, valueText), { maxLength: 3 });
/** An event: a type with what it requires, optional members, extra keys, and at most one member of any JSON type. */
const eventText = fc
  .tuple(
    fc.constantFrom(...TYPES),
    eventMembers,
    extraMembers,
    fc.option(
      fc.tuple(
        fc.constantFrom(
          'type',
          'event',
          'userId',
          'anonymousId',
          'messageId',
          'timestamp',
          'sentAt',
          'context',
          'properties',
          'traits',
          'integrations',
          'groupId',
          'version',
          'name',
        ),
        valueText,
      ),
      { freq: 3 },
    ),
    stringText,
  )
  .map(([type, known, extra, wrong, name]) => {
    const members = [`"type":"${type}"`, '"anonymousId":"a"'];
    if (type === 'track') members.push(`"event":${name}`);
    if (type === 'group') members.push('"groupId":"g1"');
    if (type === 'alias') members.push('"userId":"u2"', '"previousId":"u1"');
    for (const [k, v] of Object.entries(known))
      if (!(type === 'alias' && (k === 'userId' || k === 'previousId'))) members.push(`"${k}":${v}`);
    for (const [k, v] of extra) members.push(`${k}:${v}`);
    if (wrong) members.push(`"${wrong[0]}":${wrong[1]}`);
    return `{${members.join(',')}}`;
  });

const requestArb = fc.record({
  route: fc.constantFrom(
    '/v1/batch',
    '/v1/batch',
    '/v1/import',
    '/v1/track',
    '/v1/identify',
    '/v1/page',
    '/v1/t',
  ),
  events: fc.array(eventText, { minLength: 1, maxLength: 6 }),
  envelope: fc.record(
    {
      context: fc.oneof({ weight: 4, arbitrary: objectText }, valueText),
      sentAt: fc.oneof({ weight: 4, arbitrary: goodDateText }, dateTimeText, valueText),
      integrations: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('{"All":false}', '{"x":{"y":-0}}') },
        objectText,
      ),
    },
    { requiredKeys: [] },
  ),
  gzip: fc.boolean(),
});

// ------------------------------------------------------------------ the test

const accepted: string[] = [];
let dir: string | undefined;
afterAll(async () => {
  if (dir && !process.env.FUZZ_KEEP) await rm(dir, { recursive: true, force: true });
});

/** The members of the client's event text, with the text of each `"key":value` as written. */
function clientMembers(text: string): { key: string; raw: string; value: string }[] {
  const scanner = new JsonTextScanner(text);
  return scanner.members(0).map((m) => ({
    key: m.key,
    raw: text.slice(m.keyStart, m.valueEnd),
    value: text.slice(m.valueStart, m.valueEnd),
  }));
}

describe('collector -> loader, fuzzed', () => {
  it('never answers 5xx; accepted lines are exact, one line, within the text rules; the loader loads them all', async () => {
    const transport = new InMemoryTransport();
    const config = loadConfig({ SLUICE_WRITE_KEY: KEY });
    const { app } = buildApp(config, { transport });
    let nextId = 0;
    try {
      await fc.assert(
        fc.asyncProperty(requestArb, async (req) => {
          const events = req.events.map((e) => e.replaceAll('"@ID"', `"fz-${nextId++}"`));
          const single = req.route !== '/v1/batch' && req.route !== '/v1/import';
          const envelope = Object.entries(req.envelope).map(([k, v]) => `"${k}":${v}`);
          const body = single
            ? (events[0] as string)
            : `{${[...envelope, `"batch":[${events.join(',')}]`].join(',')}}`;
          const sent = single ? [events[0] as string] : events;
          const before = transport.messages.length;
          const res = await app.inject({
            method: 'POST',
            url: req.route,
            headers: {
              authorization: AUTH,
              'content-type': 'application/json',
              ...(req.gzip ? { 'content-encoding': 'gzip' } : {}),
            },
            payload: req.gzip ? gzipSync(body) : body,
          });
          expect(res.statusCode, res.body).toBeLessThan(500);
          const answer = res.json() as { accepted?: number; rejected?: { index: number }[] };
          const published = transport.messages.slice(before).map((m) => m.data);
          const count = res.statusCode === 200 ? sent.length : (answer.accepted ?? 0);
          expect(published.length).toBe(count);
          const rejected = new Set((answer.rejected ?? []).map((r) => r.index));
          const acceptedTexts =
            res.statusCode === 200 || answer.rejected ? sent.filter((_, i) => !rejected.has(i)) : [];
          expect(acceptedTexts.length).toBe(published.length);
          for (const [i, line] of published.entries()) {
            expect(line).not.toMatch(/[\n\r]/);
            const scanner = new JsonTextScanner(line);
            scanner.members(0);
            expect(scanner.loneSurrogate).toBe(false);
            expect(scanner.lastDepth).toBeLessThanOrEqual(EVENT_TEXT_LIMITS.maxDepth);
            const check = checkEvent(JSON.parse(line));
            expect(check.ok, JSON.stringify(!check.ok && check.issues)).toBe(true);
            const client = clientMembers(acceptedTexts[i] as string);
            for (const m of client) {
              if (SET_BY_COLLECTOR.has(m.key)) continue;
              expect(line).toContain(m.raw);
            }
            const context = client.filter((m) => m.key === 'context').pop();
            if (context) {
              const own = clientMembers(context.value);
              for (const [j, m] of own.entries()) {
                if (m.key === 'ip' || own.slice(j + 1).some((later) => later.key === m.key)) continue;
                expect(line).toContain(`${JSON.stringify(m.key)}:${m.value}`);
              }
            }
            accepted.push(line);
          }
        }),
        { numRuns: 400 },
      );
    } finally {
      await app.close();
    }
    expect(accepted.length).toBeGreaterThan(100);

    dir = await mkdtemp(join(tmpdir(), 'sluice-agree-'));
    const file = join(dir, 'accepted.ndjson');
    await writeFile(file, accepted.map(rawLine).join(''));
    const run = spawnSync('npx', ['tsx', 'functions/src/cli/load.ts', file], {
      cwd: ROOT,
      env: { ...process.env, SLUICE_DATA_DIR: dir, SLUICE_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const duckdb = join(dir, 'warehouse.duckdb');
    const failed = await queryWarehouse(
      duckdb,
      'select error_code, reason, raw_line from _sluice_failed_events limit 5',
    );
    expect(failed.rows).toEqual([]);
    const loads = await queryWarehouse(
      duckdb,
      'select lines_read, events_loaded, duplicates, failed from _sluice_loads',
    );
    expect(loads.rows.map((r) => r.map(Number))).toEqual([[accepted.length, accepted.length, 0, 0]]);
  }, 600_000);
});
