/**
 * Reading JSON *text* without parsing it into values: where each member of an object starts and ends, how deep a
 * value nests, and whether a string holds a lone surrogate. The collector uses it to enrich an event by splicing
 * the client's own text (numbers keep every digit: `9007199254740993`, `1e400` and `-0` pass through as written)
 * and to apply the text rules below; `JSON.parse` has already accepted the text, so the scanner assumes valid JSON.
 *
 * The text rules an event must satisfy besides the schema (`EVENT_TEXT_LIMITS`): at most `maxDepth` levels of
 * nested objects and arrays (the event object itself is level 1), and no lone surrogate (`\ud800` not followed by
 * a low surrogate, or a low one alone) in any string or key, since UTF-8 cannot encode one.
 */

/** Deepest nesting an event may have: the event object is level 1, `{"properties":{"a":[1]}}` has 3 levels. */
export const EVENT_TEXT_LIMITS = { maxDepth: 64 } as const;

/** One member of an object, as offsets into the text. */
export interface JsonMember {
  /** The decoded key. */
  key: string;
  /** Offset of the key's opening quote. */
  keyStart: number;
  /** Offset of the value's first character. */
  valueStart: number;
  /** Offset just past the value. */
  valueEnd: number;
  /** Levels of nesting of the value (0 for a string, number or literal; 1 for `{}` or `[1]`). */
  depth: number;
  /** The key or the value holds a lone surrogate. */
  loneSurrogate: boolean;
}

/** One element of an array: its span, and for an object element its members. */
export interface JsonElement {
  start: number;
  end: number;
  /** Levels of nesting of the element (an object of scalars: 1). */
  depth: number;
  /** The element has a lone surrogate in a string or key. */
  loneSurrogate: boolean;
  /** The element's members when it is an object. */
  members: JsonMember[] | undefined;
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;

function isWhitespace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 32;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * A scanner over one JSON text (valid JSON: `JSON.parse` accepted it). One instance per text; it keeps the position
 * of the next backslash so that strings without escapes are skipped with one native `indexOf`.
 */
export class JsonTextScanner {
  readonly text: string;
  /** Set when a string or key scanned since the last `resetFlags` held a lone surrogate. */
  loneSurrogate = false;
  /** Levels of nesting of the last value read by `skipValue`, `members` or `elements`. */
  lastDepth = 0;
  /** Offset just past the last object or array read by `members` or `elements`. */
  lastEnd = 0;
  /** The elements of the `expand` member read by the last `members(at, expand)` (undefined: none was an array). */
  expanded: JsonElement[] | undefined;
  /** Set by `skipString` when the string held an escape. */
  private escaped = false;
  /** The first backslash at or after `backslashFrom` (text.length when none). */
  private backslash = -1;
  private backslashFrom = Number.POSITIVE_INFINITY;

  constructor(text: string) {
    this.text = text;
  }

  resetFlags(): void {
    this.loneSurrogate = false;
  }

  /** Offset of the first non-whitespace character at or after `at`. */
  skipWhitespace(at: number): number {
    const text = this.text;
    let i = at;
    while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
    return i;
  }

  private nextBackslash(at: number): number {
    if (at < this.backslashFrom || this.backslash < at) {
      const found = this.text.indexOf('\\', at);
      this.backslash = found < 0 ? this.text.length : found;
      this.backslashFrom = at;
    }
    return this.backslash;
  }

  private hex4(at: number): number {
    const t = this.text;
    return (
      (hexValue(t.charCodeAt(at)) << 12) |
      (hexValue(t.charCodeAt(at + 1)) << 8) |
      (hexValue(t.charCodeAt(at + 2)) << 4) |
      hexValue(t.charCodeAt(at + 3))
    );
  }

  /** Offset just past the escape sequence at `at` (a backslash); flags a lone surrogate. */
  private escape(at: number): number {
    if (this.text.charCodeAt(at + 1) !== 117) return at + 2; // not \u
    const unit = this.hex4(at + 2);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const t = this.text;
      if (t.charCodeAt(at + 6) === BACKSLASH && t.charCodeAt(at + 7) === 117) {
        const low = this.hex4(at + 8);
        if (low >= 0xdc00 && low <= 0xdfff) return at + 12;
      }
      this.loneSurrogate = true;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      this.loneSurrogate = true;
    }
    return at + 6;
  }

  /** Offset just past the string whose opening quote is at `at`. */
  skipString(at: number): number {
    const text = this.text;
    let i = at + 1;
    this.escaped = false;
    for (;;) {
      const quote = text.indexOf('"', i);
      if (quote < 0) return text.length;
      const backslash = this.nextBackslash(i);
      if (backslash > quote) return quote + 1;
      this.escaped = true;
      i = this.escape(backslash);
    }
  }

  /** Offset just past the value starting at `at` (no leading whitespace); sets `lastDepth` to its nesting. */
  skipValue(at: number): number {
    const text = this.text;
    const first = text.charCodeAt(at);
    if (first === QUOTE) {
      this.lastDepth = 0;
      return this.skipString(at);
    }
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      let i = at + 1;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isWhitespace(c)) break;
      }
      this.lastDepth = 0;
      return i;
    }
    let depth = 0;
    let max = 0;
    let i = at;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i = this.skipString(i);
        continue;
      }
      i++;
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
        if (depth > max) max = depth;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) break;
      }
    }
    this.lastDepth = max;
    return i;
  }

  /**
   * The members of the object whose `{` is at `at`, in text order (duplicate keys included, as written). Sets
   * `lastDepth` to the object's nesting and `lastEnd` to the offset just past its `}`. The value of the member named
   * `expand`, when it is an array, is read element by element into `expanded` (the last such member's, as
   * `JSON.parse` keeps the last of duplicate keys).
   */
  members(at: number, expand?: string): JsonMember[] {
    const text = this.text;
    const out: JsonMember[] = [];
    let max = 0;
    let i = this.skipWhitespace(at + 1);
    let expanded: JsonElement[] | undefined;
    if (text.charCodeAt(i) === CLOSE_BRACE) {
      this.lastDepth = 1;
      this.lastEnd = i + 1;
      if (expand !== undefined) this.expanded = undefined;
      return out;
    }
    const outer = this.loneSurrogate;
    let lone = outer;
    for (;;) {
      this.loneSurrogate = false;
      const keyStart = i;
      const keyEnd = this.skipString(keyStart);
      const key = this.escaped
        ? (JSON.parse(text.slice(keyStart, keyEnd)) as string)
        : text.slice(keyStart + 1, keyEnd - 1);
      const valueStart = this.skipWhitespace(this.skipWhitespace(keyEnd) + 1); // past the colon
      let valueEnd: number;
      if (key === expand && text.charCodeAt(valueStart) === OPEN_BRACKET) {
        expanded = this.elements(valueStart);
        valueEnd = this.lastEnd;
      } else {
        valueEnd = this.skipValue(valueStart);
      }
      const depth = this.lastDepth;
      if (depth > max) max = depth;
      if (this.loneSurrogate) lone = true;
      out.push({ key, keyStart, valueStart, valueEnd, depth, loneSurrogate: this.loneSurrogate });
      i = this.skipWhitespace(valueEnd);
      if (text.charCodeAt(i) !== COMMA) break;
      i = this.skipWhitespace(i + 1);
    }
    this.loneSurrogate = lone;
    this.lastDepth = max + 1;
    this.lastEnd = i + 1; // past the closing brace
    if (expand !== undefined) this.expanded = expanded;
    return out;
  }

  /**
   * The elements of the array whose `[` is at `at`; object elements with their members, each element with its own
   * depth and lone-surrogate flag. Sets `lastDepth` and `lastEnd` for the array.
   */
  elements(at: number): JsonElement[] {
    const text = this.text;
    const out: JsonElement[] = [];
    let max = 0;
    let i = this.skipWhitespace(at + 1);
    let lone = this.loneSurrogate;
    if (text.charCodeAt(i) === CLOSE_BRACKET) {
      this.lastDepth = 1;
      this.lastEnd = i + 1;
      return out;
    }
    for (;;) {
      const start = i;
      this.loneSurrogate = false;
      let members: JsonMember[] | undefined;
      let end: number;
      if (text.charCodeAt(start) === OPEN_BRACE) {
        members = this.members(start);
        end = this.lastEnd;
      } else {
        end = this.skipValue(start);
      }
      const depth = this.lastDepth;
      if (depth > max) max = depth;
      if (this.loneSurrogate) lone = true;
      out.push({ start, end, depth, loneSurrogate: this.loneSurrogate, members });
      i = this.skipWhitespace(end);
      if (text.charCodeAt(i) !== COMMA) break;
      i = this.skipWhitespace(i + 1);
    }
    this.loneSurrogate = lone;
    this.lastDepth = max + 1;
    this.lastEnd = i + 1; // past the closing bracket
    return out;
  }
}

/** The last member named `key` (the one `JSON.parse` keeps), or undefined. */
export function lastMember(members: readonly JsonMember[], key: string): JsonMember | undefined {
  for (let i = members.length - 1; i >= 0; i--) {
    const m = members[i] as JsonMember;
    if (m.key === key) return m;
  }
  return undefined;
}

/**
 * The text without whitespace outside strings: one line whatever the client's formatting (a raw newline can only
 * be whitespace between tokens; inside a JSON string it is written `\n`).
 */
export function compactJsonText(text: string): string {
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i += 2;
        else if (d === QUOTE) break;
        else i++;
      }
      i++;
    } else if (isWhitespace(c)) {
      out += text.slice(runStart, i);
      while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
      runStart = i;
    } else {
      i++;
    }
  }
  return out + text.slice(runStart);
}
