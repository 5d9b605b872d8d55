/** Several people's raw window files for the privacy tests: the target person and others, across every table. */

export const TARGET = {
  userId: 'u-target',
  anonymousId: 'a-target',
  /** Aliased to the user id: linked through `aliases`. */
  oldId: 'a-old',
  email: 'target@example.com',
};

/** The target's event ids (child rows carry them as `_sluice_root_id`, `_sluice_id` = `<id>.<index>`). */
export const TARGET_EVENT_IDS = ['m-0', 'm-1', 'm-2', 'm-3', 'm-4', 'm-5', 'm-30', 'm-31', 'm-32'];

/** The target's user id as a bad line spells it with a `\u` escape (a failed event the SQL cannot decode). */
export const ESCAPED_USER_ID = 'u-t\\u0061rget';

/**
 * Every string of the target that must be gone after the delete (the escaped spelling as in a raw line, and as
 * JSON text of a row, its backslash doubled).
 */
export const TARGET_STRINGS = [
  TARGET.userId,
  TARGET.anonymousId,
  TARGET.oldId,
  TARGET.email,
  ESCAPED_USER_ID,
  JSON.stringify(ESCAPED_USER_ID).slice(1, -1),
];

const base = (n: number, extra: Record<string, unknown>): Record<string, unknown> => ({
  messageId: `m-${n}`,
  receivedAt: `2026-01-01T00:${String(n % 60).padStart(2, '0')}:01.000Z`,
  timestamp: `2026-01-01T00:${String(n % 60).padStart(2, '0')}:00.000Z`,
  sourceId: 'web',
  context: { ip: '203.0.113.9' },
  ...extra,
});

function person(prefix: string, userId: string, anonymousId: string, email: string, n0: number): string[] {
  let n = n0;
  return [
    base(n++, { type: 'page', anonymousId, name: 'Home', properties: { path: '/' } }),
    base(n++, { type: 'identify', anonymousId, userId, traits: { email, plan: 'pro', tags: [{ t: 'x' }] } }),
    base(n++, {
      type: 'track',
      event: 'Order Completed',
      userId,
      anonymousId,
      properties: {
        orderId: `${prefix}-1`,
        total: 10,
        products: [
          { sku: `${prefix}-sku`, options: [{ name: 'gift' }] },
          { sku: 'mug', options: [] },
        ],
      },
    }),
    base(n++, { type: 'group', userId, groupId: 'g-shared', traits: { name: 'Acme' } }),
    base(n++, { type: 'screen', userId, name: 'Settings' }),
    base(n++, { type: 'track', event: 'Signed Up', anonymousId, properties: { email } }),
  ].map((e) => JSON.stringify(e));
}

/** Two window files: the target spread over both, two others, bad lines (failed events) of the target and others. */
export function windowFiles(): Record<string, string> {
  const target = person('t', TARGET.userId, TARGET.anonymousId, TARGET.email, 0);
  const other1 = person('o1', 'u-other1', 'a-other1', 'other1@example.com', 10);
  const other2 = person('o2', 'u-other2', 'a-other2', 'other2@example.com', 20);
  const alias = JSON.stringify(base(30, { type: 'alias', previousId: TARGET.oldId, userId: TARGET.userId }));
  const oldAnon = JSON.stringify(
    base(31, { type: 'track', event: 'Viewed', anonymousId: TARGET.oldId, properties: { n: 1 } }),
  );
  // Failed events: bad JSON naming the target, an unknown type of the target, and an other's bad line.
  const badTarget = `{"type":"track","userId":"${TARGET.userId}","event":"Cut`;
  // The same person in a spelling of their id no substring search finds (\u0061 = a), spaced differently.
  const escapedTarget = `{"type" : "track", "userId" :  "${ESCAPED_USER_ID}" , "event":"Cut`;
  const unknownTarget = JSON.stringify(base(32, { type: 'purchase', userId: TARGET.userId }));
  const badOther = '{"type":"track","userId":"u-other1","event":"Cut';
  return {
    'raw/2026-01-01/00_00_00+00:00_aaaaaaaa.ndjson': `${[...target.slice(0, 3), ...other1, badTarget, escapedTarget, badOther].join('\n')}\n`,
    'raw/2026-01-01/00_10_00+00:00_bbbbbbbb.ndjson': `${[...target.slice(3), ...other2, alias, oldAnon, unknownTarget].join('\n')}\n`,
    // A file of others only: never rewritten.
    'raw/2026-01-01/00_20_00+00:00_cccccccc.ndjson': `${JSON.stringify(base(40, { type: 'track', event: 'Signed Up', userId: 'u-other3', properties: {} }))}\n`,
  };
}

/** A later window file with new events of the target (after the delete) and of another person. */
export function laterFile(n: number): string {
  return `${[
    JSON.stringify(
      base(100 + n, {
        type: 'track',
        event: 'Order Completed',
        userId: TARGET.userId,
        properties: { total: 1 },
      }),
    ),
    JSON.stringify(base(200 + n, { type: 'page', anonymousId: TARGET.anonymousId, name: 'Back' })),
    JSON.stringify(base(300 + n, { type: 'track', event: 'Signed Up', userId: 'u-other1', properties: {} })),
  ].join('\n')}\n`;
}
