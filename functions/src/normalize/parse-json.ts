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
