import type { NameCache } from '../naming/name-cache.ts';
import { inferLeaf } from '../schema/infer.ts';
import type { Field } from './field.ts';
import { hasUnsafeInteger, NeedsExactParse, toJsonText } from './parse-json.ts';

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
}

function jsonValue(value: unknown, options: FlattenOptions): string {
  if (options.exact !== true && hasUnsafeInteger(value)) throw new NeedsExactParse();
  return toJsonText(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Flattens `object` into `out`: nested objects join their keys with `_` (`context.page.url` -> `context_page_url`);
 * null values and empty objects/arrays are skipped; objects nested deeper than `maxDepth` are one JSON value;
 * a non-empty array whose elements are all objects goes to `children` (a child table) when `children` is given,
 * every other array (scalars, mixed, nested arrays) is one JSON value.
 *
 * `depth` is the depth of `object` itself (a top-level container such as `properties` is depth 1).
 */
export function flatten(
  object: Record<string, unknown>,
  parentBase: string,
  sourcePrefix: string,
  depth: number,
  options: FlattenOptions,
  out: Field[],
  children: ChildArray[] | null,
  rebase?: (base: string) => string | undefined,
): void {
  for (const key in object) {
    const value = object[key];
    if (value === null || value === undefined) continue;
    let name = options.names.column(parentBase, key);
    if (rebase) {
      const rebased = rebase(name.base);
      if (rebased !== undefined) name = options.names.column(rebased, key);
    }
    if (typeof value === 'object') {
      const source = sourcePrefix === '' ? key : `${sourcePrefix}.${key}`;
      if (Array.isArray(value)) {
        if (value.length === 0) continue;
        if (children !== null && value.every(isPlainObject)) {
          children.push({ base: name.base, source, items: value, depth: depth + 1 });
        } else {
          out.push({
            column: name.column,
            type: 'JSON',
            value: toJsonText(value),
            parent: sourcePrefix,
            key,
          });
        }
      } else if (depth + 1 > options.maxDepth) {
        out.push({
          column: name.column,
          type: 'JSON',
          value: jsonValue(value, options),
          parent: sourcePrefix,
          key,
        });
      } else {
        flatten(value as Record<string, unknown>, name.base, source, depth + 1, options, out, children);
      }
      continue;
    }
    if (
      typeof value === 'number' &&
      options.exact !== true &&
      !Number.isSafeInteger(value) &&
      Number.isInteger(value)
    ) {
      throw new NeedsExactParse();
    }
    const typed = inferLeaf(value as boolean | number | bigint | string);
    out.push({ column: name.column, type: typed.type, value: typed.value, parent: sourcePrefix, key });
  }
}
