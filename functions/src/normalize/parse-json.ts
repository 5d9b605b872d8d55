/**
 * JSON parsing that loses no integer digits. `JSON.parse` rounds integers beyond +-2^53 and Node 20 has no
 * source-text access in revivers, so the loader parses with `JSON.parse` (fast) and, when flattening meets an
 * integral number outside the safe range (`NeedsExactParse`), parses the line again with `parseJsonExact`: a small
 * recursive-descent parser that returns such integers as `bigint` (every digit), everything else as `JSON.parse`.
 */
export function parseJsonExact(text: string): unknown {
  return new ExactParser(text).parseDocument();
}

/** Thrown while flattening a `JSON.parse` result that may have lost integer digits. */
export class NeedsExactParse extends Error {}

/** True when a `JSON.parse` result holds an integral number outside +-(2^53-1) (digits may be lost). */
export function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasUnsafeInteger(v)) return true;
    return false;
  }
  for (const key in value) if (hasUnsafeInteger((value as Record<string, unknown>)[key])) return true;
  return false;
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING_BODY = /"(?:[^"\\]|\\.)*"/y;
const WS = /[ \t\n\r]*/y;

class ExactParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    const value = this.value(0);
    this.ws();
    if (this.pos !== this.text.length) this.fail();
    return value;
  }

  private fail(): never {
    throw new SyntaxError(`Unexpected token in JSON at position ${this.pos}`);
  }

  private ws(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  private value(depth: number): unknown {
    if (depth > 10_000) this.fail();
    this.ws();
    const ch = this.text[this.pos];
    switch (ch) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail();
    this.pos += word.length;
    return value;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail();
    this.pos = NUMBER.lastIndex;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  private string(): string {
    STRING_BODY.lastIndex = this.pos;
    const m = STRING_BODY.exec(this.text);
    if (!m) this.fail();
    this.pos = STRING_BODY.lastIndex;
    return JSON.parse(m[0]) as string;
  }

  private array(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const ch = this.text[this.pos++];
      if (ch === ']') return out;
      if (ch !== ',') this.fail();
    }
  }

  private object(depth: number): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail();
      const key = this.string();
      this.ws();
      if (this.text[this.pos++] !== ':') this.fail();
      const value = this.value(depth + 1);
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true });
      else out[key] = value;
      this.ws();
      const ch = this.text[this.pos++];
      if (ch === '}') return out;
      if (ch !== ',') this.fail();
    }
  }
}

/**
 * JSON text of a `JSON.parse` result, or undefined when it holds an integer beyond 2^53, whose digits only the exact
 * parse keeps (`NeedsExactParse`).
 */
export function parsedJsonText(value: unknown): string | undefined {
  return hasUnsafeInteger(value) ? undefined : toJsonText(value);
}

/** JSON text of a parsed value, bigint included (as exact digits). */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    // bigint: written as exact digits below.
  }
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `\u0000big:${v}` : v)).replace(
    /"\\u0000big:(-?\d+)"/g,
    '$1',
  );
}

/** `String.prototype.isWellFormed`/`toWellFormed` (Node 20; the ES2024 lib typings are not in this project's lib). */
interface WellFormedText {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** True when `text` holds no lone UTF-16 surrogate (it is valid Unicode, encodable as UTF-8). */
export function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormedText).isWellFormed();
}

/** `text` with each lone surrogate replaced by U+FFFD (unchanged, same string, when it has none). */
export function wellFormed(text: string): string {
  const t = text as unknown as WellFormedText;
  return t.isWellFormed() ? text : t.toWellFormed();
}

/**
 * The deepest raw line the loader accepts: objects and arrays nested up to this many levels (the event itself is
 * level 1). Deeper lines are failed events (`SLUICE_ERR_LOAD_TOO_DEEP`): the steps after `JSON.parse` (the protocol
 * check, `JSON.stringify` of over-deep values) recurse, and a few thousand levels overflow the stack. Values nested
 * deeper than `SLUICE_MAX_NESTING_DEPTH` but within this limit are kept as JSON text, as always. The collector
 * rejects deeper bodies with a 400 at a depth no greater than this.
 */
export const MAX_JSON_DEPTH = 1000;

/** Whether JSON text (valid, as `JSON.parse` accepted it) nests objects/arrays deeper than `limit`. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  // Each level takes an opening and a closing bracket: a shorter valid text cannot be deeper.
  if (text.length <= 2 * limit) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Skip the string: to the next quote not escaped.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 92) i++;
        else if (s === 34) break;
      }
    } else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** A `\uD800`-`\uDFFF` escape in JSON text: only such a line can parse to a string with a lone surrogate. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Where a parsed JSON value holds a string or a key with a lone surrogate (`{"event":"\ud800"}` is valid JSON
 * but not valid Unicode: no warehouse can store it), as a path like `/properties/name` or `/context/<key>`; or
 * undefined. Looks only when the raw text has a surrogate escape, and walks without recursion (any depth).
 */
export function loneSurrogatePath(text: string, value: unknown): string | undefined {
  // `indexOf` first: most lines have no `\u` escape at all, and it scans some 4 times faster than the pattern.
  if (text.indexOf('\\u') === -1 || !SURROGATE_ESCAPE.test(text)) return undefined;
  const stack: [unknown, string][] = [[value, '']];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, at] = next;
    if (typeof v === 'string') {
      if (!isWellFormed(v)) return at || '/';
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}/${i}`]);
    } else if (typeof v === 'object' && v !== null) {
      for (const key of Object.keys(v)) {
        const path = `${at}/${wellFormed(key)}`;
        if (!isWellFormed(key)) return `${path} (the key)`;
        stack.push([(v as Record<string, unknown>)[key], path]);
      }
    }
  }
  return undefined;
}

/** Why a parsed raw line cannot be loaded whatever its content says, or undefined (see `normalizeLine`). */
export function poisonOf(
  text: string,
  value: unknown,
): { code: 'SLUICE_ERR_LOAD_TOO_DEEP' | 'SLUICE_ERR_LOAD_LONE_SURROGATE'; reason: string } | undefined {
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    return {
      code: 'SLUICE_ERR_LOAD_TOO_DEEP',
      reason: `objects/arrays nested deeper than ${MAX_JSON_DEPTH} levels`,
    };
  }
  const at = loneSurrogatePath(text, value);
  if (at !== undefined) {
    return {
      code: 'SLUICE_ERR_LOAD_LONE_SURROGATE',
      reason: `${at}: a string holds a lone UTF-16 surrogate (not valid Unicode)`,
    };
  }
  return undefined;
}
