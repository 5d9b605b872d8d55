import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snakeCase } from './snake-case.ts';

describe('snakeCase', () => {
  it.each([
    ['Order Completed', 'order_completed'],
    ['userId', 'user_id'],
    ['user_id', 'user_id'],
    ['Plan', 'plan'],
    ['HTTPStatus', 'http_status'],
    ['pageURL2', 'page_url2'],
    ['1st place', '_1st_place'],
    ['café', 'cafe'],
    ['名前', 'u540d_u524d'],
    ['$price$', 'price'],
    ['a--b__c', 'a_b_c'],
    ['__proto__', 'proto'],
    ['***', ''],
  ])('%s -> %s', (raw, expected) => {
    expect(snakeCase(raw)).toBe(expected);
  });

  it('is idempotent and only yields [a-z0-9_] without double, leading (except before a digit) or trailing _', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (raw) => {
        const once = snakeCase(raw);
        expect(snakeCase(once)).toBe(once);
        expect(once).toMatch(/^(?:_?[0-9][a-z0-9]*|[a-z][a-z0-9]*)?(?:_[a-z0-9]+)*$/);
      }),
    );
  });
});
