/**
 * JSON parsing that loses no integer digits. `JSON.parse` rounds integers beyond +-2^53; Node 20 has no
 * source-text access in revivers. Fast path: a line with no run of 16+ digits cannot hold such an integer, so
 * plain `JSON.parse` is exact. Otherwise a small recursive-descent parser returns integers outside the safe range
 * as `bigint` (exact), everything else as `JSON.parse` would.
 */
const LONG_DIGITS = /\d{16}/;

export function parseJson(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return new ExactParser(text).parseDocument();
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

/** JSON text of a parsed value, bigint included (as exact digits). */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `\u0000big:${v}` : v)).replace(
    /"\\u0000big:(-?\d+)"/g,
    '$1',
  );
}
