import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonExact, toJsonText } from './parse-json.ts';

describe('parseJsonExact', () => {
  it('keeps every digit of integers beyond 2^53 (as bigint) and leaves safe numbers as numbers', () => {
    const v = parseJsonExact(
      '{"a":9007199254740993,"b":-123456789012345678901234567890,"c":1.5,"d":12,"e":"12345678901234567"}',
    ) as Record<string, unknown>;
    expect(v.a).toBe(9007199254740993n);
    expect(v.b).toBe(-123456789012345678901234567890n);
    expect(v.c).toBe(1.5);
    expect(v.d).toBe(12);
    expect(v.e).toBe('12345678901234567');
  });

  it('agrees with JSON.parse (same JSON text back), with and without 16+ digit runs', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const padded = `{"pad":"1234567890123456","v":${text}}`;
        expect(toJsonText(parseJsonExact(text))).toBe(JSON.stringify(JSON.parse(text)));
        expect(toJsonText(parseJsonExact(padded))).toBe(JSON.stringify(JSON.parse(padded)));
      }),
    );
  });

  it('rejects what JSON.parse rejects', () => {
    for (const bad of [
      '{"a":12345678901234567',
      '{"a":12345678901234567,}',
      '{"a":"\u0001 12345678901234567"}',
      '[12345678901234567 1]',
    ]) {
      expect(() => parseJsonExact(bad)).toThrow(SyntaxError);
    }
  });

  it('toJsonText writes bigints as exact numbers', () => {
    expect(toJsonText({ a: [12345678901234567890n, 'x'] })).toBe('{"a":[12345678901234567890,"x"]}');
  });
});
