import { isPlainObject } from '../model/plain-object.ts';
import type { NameCache, NameNode } from '../naming/name-cache.ts';
import type { Fields } from '../schema/fields.ts';
import { inferLeaf, rfc3339 } from '../schema/infer.ts';
import { NeedsExactParse, parsedJsonText, toJsonText } from './parse-json.ts';

/** An array of objects found while flattening: it becomes rows of a child table. */
export interface ChildArray {
  /** Base name of the array's column path (`products`, `cart_items`). */
  base: string;
  source: string;
  items: Record<string, unknown>[];
  /** Nesting depth of the array's elements. */
  depth: number;
}

export interface FlattenOptions {
  names: NameCache;
  /** Objects nested deeper than this are kept whole as one JSON value. */
  maxDepth: number;
  /**
   * The event came from the exact parser (big integers are bigint). When false (a `JSON.parse` result), an
   * integral number outside the safe range throws `NeedsExactParse` so the caller re-parses the line exactly.
   */
  exact?: boolean;
  /**
   * An array of objects that goes to `children` is also written as its JSON column (Segment's layout; the table's
   * array mode `both`, see `schema/contracts.ts`).
   */
  arrayJson?: boolean;
}

function jsonValue(value: unknown, options: FlattenOptions): string {
  if (options.exact === true) return toJsonText(value);
  const text = parsedJsonText(value);
  if (text === undefined) throw new NeedsExactParse();
  return text;
}

function allPlainObjects(values: unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (!isPlainObject(values[i])) return false;
  return true;
}

/**
 * Flattens `object` into `out`: nested objects join their keys with `_` (`context.page.url` -> `context_page_url`);
 * null values and empty objects/arrays are skipped; objects nested deeper than `maxDepth` are one JSON value;
 * a non-empty array whose elements are all objects goes to `children` (a child table) when `children` is given
 * (and is one JSON value as well with `arrayJson`), every other array (scalars, mixed, nested arrays) is one JSON
 * value.
 *
 * `node` is the name-trie node of `object` (`names.root(...)` at the top); `depth` is the depth of `object` itself
 * (a top-level container such as `properties` is depth 1). Hot path: one trie lookup per key and no allocation per leaf.
 */
export function flatten(
  object: Record<string, unknown>,
  node: NameNode,
  sourcePrefix: string,
  depth: number,
  options: FlattenOptions,
  out: Fields,
  children: ChildArray[] | null,
): void {
  let slot = 0;
  for (const key in object) {
    const value = object[key];
    if (value !== null && value !== undefined) {
      flattenEntry(key, value, node, sourcePrefix, depth, options, out, children, slot);
    }
    slot++;
  }
}

/**
 * One member `key: value` (value not null) of an object at `depth` whose trie node is `node`, at position `slot`
 * among the object's members (-1: unknown).
 */
export function flattenEntry(
  key: string,
  value: unknown,
  node: NameNode,
  sourcePrefix: string,
  depth: number,
  options: FlattenOptions,
  out: Fields,
  children: ChildArray[] | null,
  slot = -1,
): void {
  const name = options.names.child(node, key, slot);
  switch (typeof value) {
    case 'string': {
      const ts = rfc3339(value);
      if (ts === undefined) {
        out.push(name.ref, 'STRING', value, sourcePrefix, key);
      } else {
        out.push(name.ref, 'TIMESTAMP', ts, sourcePrefix, key);
      }
      return;
    }
    case 'number':
      if (Number.isSafeInteger(value)) {
        out.push(name.ref, 'INT64', value, sourcePrefix, key);
        return;
      }
      if (options.exact !== true && Number.isInteger(value)) throw new NeedsExactParse();
      break;
    case 'boolean':
      out.push(name.ref, 'BOOL', value, sourcePrefix, key);
      return;
    case 'object': {
      const source = sourcePrefix === '' ? key : `${sourcePrefix}.${key}`;
      if (Array.isArray(value)) {
        if (value.length === 0) return;
        if (children !== null && allPlainObjects(value)) {
          if (options.arrayJson === true)
            out.push(name.ref, 'JSON', jsonValue(value, options), sourcePrefix, key);
          children.push({ base: name.base, source, items: value, depth: depth + 1 });
        } else {
          out.push(name.ref, 'JSON', jsonValue(value, options), sourcePrefix, key);
        }
      } else if (depth + 1 > options.maxDepth) {
        out.push(name.ref, 'JSON', jsonValue(value, options), sourcePrefix, key);
      } else {
        flatten(value as Record<string, unknown>, name, source, depth + 1, options, out, children);
      }
      return;
    }
  }
  // Non-integral or non-finite numbers, bigints: the general rules.
  const typed = inferLeaf(value as boolean | number | bigint | string);
  out.push(name.ref, typed.type, typed.value, sourcePrefix, key);
}
