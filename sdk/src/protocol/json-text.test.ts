import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactJsonText, JsonTextScanner, lastMember } from './json-text.ts';

/** A generated value as its JSON text reads back (JSON has no -0: the texts here come from JSON.stringify). */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** True when a string holds a lone surrogate (in `u` mode a paired surrogate is one code point). */
const hasLoneSurrogate = (s: string): boolean => /[\uD800-\uDFFF]/u.test(s);

/** Reference: nesting levels of a parsed value, and whether any string or key holds a lone surrogate. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}
function loneIn(value: unknown): boolean {
  if (typeof value === 'string') return hasLoneSurrogate(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(loneIn);
  return Object.entries(value).some(([k, v]) => hasLoneSurrogate(k) || loneIn(v));
}

const ws = fc.constantFrom('', ' ', '\n', '\t ', '\r\n  ');
/** Strings with escapes, surrogate pairs and lone surrogates. */
const tricky = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\ud800', '\udc00', '😀', '\ud83d\ude00x', 'a\\"b', '\u2028', '', '__proto__'),
);

/** JSON text of a value with random whitespace between tokens and random (valid) escaping of strings. */
function textOf(value: unknown, pad: () => string, escapeAll: boolean): string {
  const str = (s: string): string =>
    escapeAll
      ? `"${[...s].map((c) => (c.length === 1 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(c).slice(1, -1))).join('')}"`
      : JSON.stringify(s);
  if (typeof value === 'string') return str(value);
  if (Array.isArray(value))
    return `[${pad()}${value.map((v) => textOf(v, pad, escapeAll)).join(`${pad()},${pad()}`)}${pad()}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${pad()}${Object.entries(value)
      .map(([k, v]) => `${str(k)}${pad()}:${pad()}${textOf(v, pad, escapeAll)}`)
      .join(`${pad()},${pad()}`)}${pad()}}`;
  }
  return JSON.stringify(value);
}

const jsonObject = fc.dictionary(
  tricky,
  fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 2 }),
      tricky,
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(tricky, tie('value'), { maxKeys: 3 }),
    ),
  })).value,
  { maxKeys: 6 },
);

describe('JsonTextScanner', () => {
  it('finds every member of an object with its value span, depth and lone-surrogate flag', () => {
    fc.assert(
      fc.property(jsonObject, fc.array(ws, { minLength: 1 }), fc.boolean(), (object, pads, escapeAll) => {
        let n = 0;
        const text = `${pads[0]}${textOf(object, () => pads[n++ % pads.length] as string, escapeAll)}${pads[0]}`;
        const scanner = new JsonTextScanner(text);
        const start = scanner.skipWhitespace(0);
        const members = scanner.members(start);
        const entries = Object.entries(object);
        expect(members.map((m) => m.key)).toEqual(entries.map(([k]) => k));
        for (const [i, m] of members.entries()) {
          const [key, value] = entries[i] as [string, unknown];
          expect(JSON.parse(text.slice(m.valueStart, m.valueEnd))).toEqual(asJson(value));
          expect(m.depth).toBe(depthOf(value));
          expect(m.loneSurrogate).toBe(hasLoneSurrogate(key) || loneIn(value));
        }
        expect(scanner.lastDepth).toBe(depthOf(object));
        expect(scanner.loneSurrogate).toBe(loneIn(object));
        expect(JSON.parse(text.slice(start, scanner.lastEnd))).toEqual(asJson(object));
        expect(text.slice(scanner.lastEnd).trim()).toBe('');
      }),
      { numRuns: 500 },
    );
  });

  it('reads the elements of an expanded array member (the last of duplicate keys), each with its own flags', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(jsonObject, fc.jsonValue({ maxDepth: 1 }))), (batch) => {
        const text = `{"batch":[1,2],"context":{"a":1},"batch":${textOf(batch, () => ' ', false)}}`;
        const scanner = new JsonTextScanner(text);
        scanner.members(0, 'batch');
        const elements = scanner.expanded ?? [];
        expect(elements.length).toBe(batch.length);
        for (const [i, e] of elements.entries()) {
          expect(JSON.parse(text.slice(e.start, e.end))).toEqual(asJson(batch[i]));
          expect(e.depth).toBe(depthOf(batch[i]));
          expect(e.loneSurrogate).toBe(loneIn(batch[i]));
          expect(e.members !== undefined).toBe(
            typeof batch[i] === 'object' && batch[i] !== null && !Array.isArray(batch[i]),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('measures depth iteratively: 100,000 levels do not overflow the stack', () => {
    const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const scanner = new JsonTextScanner(deep);
    const [member] = scanner.members(0);
    expect(member?.depth).toBe(100_000);
    expect(scanner.lastDepth).toBe(100_001);
  });

  it('tells a paired surrogate from a lone one, escaped in either case', () => {
    const flag = (text: string): boolean => {
      const scanner = new JsonTextScanner(text);
      scanner.members(0);
      return scanner.loneSurrogate;
    };
    expect(flag('{"a":"\\ud83d\\ude00"}')).toBe(false);
    expect(flag('{"a":"\\uD83D\\uDE00"}')).toBe(false);
    expect(flag('{"a":"😀"}')).toBe(false);
    expect(flag('{"a":"\\ud800"}')).toBe(true);
    expect(flag('{"a":"\\ude00\\ud83d"}')).toBe(true);
    expect(flag('{"a":"\\ud83dx"}')).toBe(true);
    expect(flag('{"\\udfff":1}')).toBe(true);
    expect(flag('{"a":"\\\\ud800"}')).toBe(false); // an escaped backslash, then the letters ud800
  });

  it('lastMember is the one JSON.parse keeps', () => {
    const scanner = new JsonTextScanner('{"a":1,"b":2,"a":3}');
    const m = lastMember(scanner.members(0), 'a');
    expect(m && scanner.text.slice(m.valueStart, m.valueEnd)).toBe('3');
    expect(lastMember(scanner.members(0), 'c')).toBeUndefined();
  });
});

describe('compactJsonText', () => {
  it('removes whitespace between tokens only: same value, one line', () => {
    fc.assert(
      fc.property(jsonObject, fc.array(ws, { minLength: 1 }), (object, pads) => {
        let n = 0;
        const text = textOf(object, () => pads[n++ % pads.length] as string, false);
        const compact = compactJsonText(text);
        expect(JSON.parse(compact)).toEqual(asJson(object));
        expect(compact).not.toMatch(/[\n\r]/);
        expect(compact).toBe(textOf(object, () => '', false));
      }),
      { numRuns: 300 },
    );
  });
});
