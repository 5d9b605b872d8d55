import { hasIdentity, memberRules } from '@sluice/sdk/protocol';
import { isPlainObject } from '../../model/plain-object.ts';
import type { ResolvedRow } from '../../schema/evolve.ts';
import { rfc3339 } from '../../schema/infer.ts';
import type { NormalizerOptions } from '../options.ts';
import { parsedJsonText } from '../parse-json.ts';
import { Emitter } from './emitter.ts';
import { jsonLeaf } from './json-text.ts';
import type { EventShape, ObjectShape } from './shape.ts';

/**
 * Compiled shapes: the next step after the fast path for the events that make up most of a file, events of one
 * kind (a track event's name, or another type) with the same keys. When the fast path has taken
 * such an event, its shape is recorded (every object's keys in order, where each value went, the column types)
 * and compiled into a function that checks an event has exactly that shape and writes its cells at fixed
 * positions, with no name lookups and no per-value decisions.
 *
 * A compiled shape only accepts a valid event that the fast path would have written the same way: the protocol's
 * rules are checked member by member (`memberRules`, so the caller runs no separate protocol check first), each
 * value is checked against the type of the column it goes to (code generated from the coercion table, `value-check.ts`); a key order or set that
 * differs, a null where a value or object was, an array item of another shape, anything else returns undefined
 * and the caller goes on with the protocol check and the fast path.
 * The code is generated from the shape's structure only: names, and keys with any character outside
 * [A-Za-z0-9_$], are never part of the source (they are read from arrays); an identifier-only key is read as
 * `o.key`, which cannot change the code's meaning. Equality with the general path is property-tested.
 */
export type Compiled = (
  event: Record<string, unknown>,
  eventId: string,
  receivedAt: string | undefined,
) => ResolvedRow[] | undefined;

/** How many leaves of `shape` (outside child tables) go to the type's table. */
function rootLeaves(shape: ObjectShape): number {
  let n = 0;
  for (const m of shape.members) {
    if ((m.kind === 'leaf' || m.kind === 'json') && (m.a.role === 'root' || m.b?.role === 'root')) n++;
    else if (m.kind === 'children' && m.json?.role === 'root') n++;
    else if (m.kind === 'object') n += rootLeaves(m.shape);
  }
  return n;
}

/** Compiles a recorded shape, or undefined when it has a member the generated code does not cover. */
export function compileShape(shape: EventShape, options: NormalizerOptions): Compiled | undefined {
  const e = new Emitter(options);
  const own = shape.own;
  e.tables.push(shape.rootTable, own?.table ?? '');
  e.layouts.push(shape.root, own?.layout ?? shape.root);
  const meta = options.tableValues?.length ?? 0;
  const [rootRow, ownRow] =
    own === undefined ? [e.row('ra'), -1] : e.sharedRows(rootLeaves(shape.top) + 2 + meta);
  e.lines.push(
    '', // the cells and the rows, sized once the code is emitted (below)
    own === undefined
      ? `out[0] = { table: T[0], columns: L[0].columns, at: P[${rootRow}], cells: rac };`
      : `out[0] = { table: T[0], columns: L[0].columns, at: P[${rootRow}], cells: rac }; out[1] = { table: T[1], columns: L[1].columns, at: P[${ownRow}], cells: rac };`,
  );
  // The protocol's check, member by member (what `isValidEvent` checks, see `memberRules`): a compiled shape
  // only accepts a valid event, so the caller need not check it first.
  const protocol = memberRules(shape.type);
  if (!protocol.required.every((key) => shape.top.keys.includes(key))) return undefined;
  e.lines.push('if (!HAS_IDENTITY(ev)) return;');
  const rows: Record<string, string> = own === undefined ? { root: 'ra' } : { root: 'ra', own: 'rb' };
  e.object('ev', shape.top, rows, 'eventId', protocol, 'ev');
  if (own !== undefined) {
    e.pairCells(shape.root, own.layout, 'event', 'T[1]');
    e.pairCells(shape.root, own.layout, 'event_text', 'NAME');
    e.meta(rows, ['root', shape.root], ['own', own.layout]);
    if (!e.closeShared(ownRow)) return undefined;
  } else {
    e.meta(rows, ['root', shape.root]);
  }
  // An event recorded without its upsert row had an absent id (null, "", or no such key): its id member (`null`,
  // `absent`, or no such key) refuses a non-empty string (a number fails the envelope's string check), so that
  // shape needs no upsert code.
  if (shape.upsert) e.upsertRow(shape.upsert);
  if (e.failed) return undefined;
  // One row or two, and one per item of the child arrays outside child rows (rows of their items' own arrays
  // are appended), and the upsert row.
  const first = own === undefined ? 1 : 2;
  const upserts = shape.upsert ? 1 : 0;
  const counts = e.childArrays.map(
    (path, i) => `const n${i} = ${path}; if (Array.isArray(n${i})) no += n${i}.length;`,
  );
  e.lines[0] =
    `const rac = new Array(${e.cellCount(own === undefined ? 'ra' : 'rb')}); let v, x, t;` +
    ` let no = ${first + upserts}; ${counts.join(' ')} const out = new Array(no); let on = ${first};`;
  e.lines.push('return out;');
  // The generated body refers only to its parameters: K (keys), T (tables), L (layouts), P (positions), R
  // (protocol rules), KQ (keys' JSON text), helpers; and to the JSON-text functions before it (`json-text.ts`).
  const factory = new Function(
    'K',
    'T',
    'L',
    'P',
    'NAME',
    'TV',
    'R',
    'HAS_IDENTITY',
    'IS_PLAIN',
    'TO_JSON',
    'UPSERT_TRAITS',
    'rfc3339',
    'KQ',
    'JV',
    `${e.json.functions.join('\n')}\nreturn function compiledShape(ev, eventId, RA) {\n${e.lines.join('\n')}\n};`,
  ) as (...args: unknown[]) => Compiled;
  return factory(
    e.keys,
    e.tables,
    e.layouts,
    e.positions,
    own?.name,
    options.tableValues,
    e.rules,
    hasIdentity,
    isPlainObject,
    parsedJsonText,
    shape.upsert?.upsert.traits,
    rfc3339,
    e.json.quoted,
    jsonLeaf,
  );
}
