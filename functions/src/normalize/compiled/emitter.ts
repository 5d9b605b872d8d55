import type { MemberRules } from '@sluice/sdk/protocol';
import type { ColumnLayout } from '../../schema/column-layout.ts';
import { CHILD_COLUMNS, ID_KEYS } from '../../schema/segment-layout.ts';
import type { NormalizerOptions } from '../options.ts';
import { JsonText } from './json-text.ts';
import type { ObjectShape, RowRole, ShapeMember, ShapeTarget, UpsertShape } from './shape.ts';
import { valueCheck } from './value-check.ts';

/**
 * Emits the source of a compiled shape (see `compile-shape.ts`): member by member, the checks that an event has
 * the recorded shape, and the writes of its cells at the recorded positions. Value checks come from the coercion
 * table (`value-check.ts`); names and keys are never part of the source.
 */
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export class Emitter {
  readonly lines: string[] = [];
  /** Keys, tables and layouts the code reads by index (never spliced into the source). */
  readonly keys: string[] = [];
  readonly layouts: ColumnLayout[] = [];
  readonly tables: string[] = [];
  /** How to read each array of child rows outside child rows (`ev?.properties?.products`): `out` is sized by them. */
  readonly childArrays: string[] = [];
  /** The protocol's rules of the event's members, read by index (`memberRules`). */
  readonly rules: ((value: unknown) => boolean)[] = [];
  /**
   * Each row's positions, in the order of its cells: the same for every event of the shape (a null value writes a
   * null cell), so one array serves as every row's `at`.
   */
  readonly positions: number[][] = [];
  /** Row variable (`ra`, `r12`...) -> where its cells go. */
  private readonly rows = new Map<string, RowCells>();
  /** Every cell write emitted so far (`rac[3]`), with its array: a null object writes null to those it added. */
  private readonly writes: { array: string; cell: string }[] = [];
  private n = 0;
  failed = false;
  /** The JSON text of arrays of objects, generated from their item shapes (reads `keys`). */
  readonly json = new JsonText(this.keys);

  constructor(private readonly options: NormalizerOptions) {}

  fresh(prefix: string): string {
    return `${prefix}${this.n++}`;
  }

  /** A row variable with cells of its own (`<row>c`), whose positions are `P[<index>]`. */
  row(name: string): number {
    const index = this.positions.push([]) - 1;
    this.rows.set(name, { array: `${name}c`, at: this.positions[index] as number[] });
    return index;
  }

  /**
   * A track's rows: its `tracks` row (`ra`) and its own table's row (`rb`) share one cells array (`rac`). The
   * cells both rows have (envelope, event names, bookkeeping; `shared` of them) come first, so the `tracks` row
   * is the array's first `shared` cells; the own row's properties follow.
   */
  sharedRows(shared: number): [number, number] {
    const root = this.positions.push([]) - 1;
    const own = this.positions.push([]) - 1;
    const pair: SharedPair = { shared, next: 0, own: [] };
    this.rows.set('ra', { array: 'rac', at: this.positions[root] as number[], pair, role: 'root' });
    this.rows.set('rb', { array: 'rac', at: this.positions[own] as number[], pair, role: 'own' });
    return [root, own];
  }

  /** The own row's positions complete: the shared cells' then the own cells'; false if the count was wrong. */
  closeShared(own: number): boolean {
    const pair = this.rows.get('rb')?.pair;
    if (pair === undefined || pair.next !== pair.shared) return false;
    (this.positions[own] as number[]).push(...pair.own);
    return true;
  }

  cellCount(row: string): number {
    const cells = this.rows.get(row) as RowCells;
    return cells.pair === undefined ? cells.at.length : cells.pair.shared + cells.pair.own.length;
  }

  /**
   * The cells `value` goes to as targets `a` (and `b`), with their positions recorded; '' when a target's row
   * does not exist. In a track's shared array a value of both rows takes one cell, and one of the own row only
   * takes a cell after the shared ones.
   */
  private write(rows: Record<string, string>, a: ShapeTarget, b: ShapeTarget | null, value: string): string {
    const rowA = rows[a.role] === undefined ? undefined : this.rows.get(rows[a.role] as string);
    const rowB = b === null || rows[b.role] === undefined ? undefined : this.rows.get(rows[b.role] as string);
    if (rowA === undefined || (b !== null && rowB === undefined)) return '';
    const pair = rowA.pair;
    if (pair !== undefined) {
      let index: number;
      if (rowA.role === 'root' && rowB?.role === 'own' && b !== null) {
        index = pair.next++;
        rowA.at.push(a.pos);
        rowB.at.push(b.pos);
      } else if (rowA.role === 'own' && b === null) {
        index = pair.shared + pair.own.push(a.pos) - 1;
      } else {
        return ''; // a value of the tracks row only: not recorded for tracks (see `recordShape`)
      }
      return this.cell(rowA.array, index, value);
    }
    let out = this.cell(rowA.array, rowA.at.push(a.pos) - 1, value);
    if (b !== null && rowB !== undefined) out += ` ${this.cell(rowB.array, rowB.at.push(b.pos) - 1, value)}`;
    return out;
  }

  private cell(array: string, index: number, value: string): string {
    const cell = `${array}[${index}]`;
    this.writes.push({ array, cell });
    return `${cell} = ${value};`;
  }

  /**
   * An upsert row (identify: `users`, group: `accounts`), last of the event's rows, for a shape recorded with one:
   * it exists exactly when the id member (`userId`, `groupId`; an identifier, from `UPSERT_TABLES`, never event
   * data) is a non-empty string, and has received_at exactly when the event's is valid. Its traits are read by
   * the table's own rule (`UPSERT_TRAITS`, the `traits` function of `UPSERT_TABLES`).
   */
  upsertRow(shape: UpsertShape): void {
    if (shape.id.type !== 'STRING' || (shape.receivedAt !== null && shape.receivedAt.type !== 'TIMESTAMP')) {
      this.failed = true;
      return;
    }
    const t = this.tables.push(shape.table) - 1;
    const l = this.layouts.push(shape.layout) - 1;
    const p = this.row('ru');
    const rows = { upsert: 'ru' };
    const id = `ev.${shape.upsert.idMember}`;
    this.lines.push(
      `if (typeof ${id} !== 'string' || ${id} === '') return; if (RA ${shape.receivedAt === null ? '!==' : '==='} undefined) return;`,
    );
    const sized = this.lines.push('') - 1; // the cells, sized once the row's code is emitted (below)
    this.lines.push(this.write(rows, shape.id, null, id));
    if (shape.receivedAt !== null) this.lines.push(this.write(rows, shape.receivedAt, null, 'RA'));
    if (shape.traits !== null) {
      this.lines.push('const tu = UPSERT_TRAITS(ev);');
      this.object('tu', shape.traits, rows, 'eventId');
    }
    this.meta(rows, ['upsert', shape.layout]);
    this.lines[sized] = `const ruc = new Array(${this.cellCount('ru')});`;
    this.lines.push(`out[on++] = { table: T[${t}], columns: L[${l}].columns, at: P[${p}], cells: ruc };`);
  }

  /**
   * A value's code: when `v` is not null, `test` (which returns on a value the column does not take, else sets
   * `x`) and the writes of `x` to targets `a` (and `b`); when null, null cells in their place.
   */
  private leafCode(
    v: string,
    test: string,
    rows: Record<string, string>,
    a: ShapeTarget,
    b: ShapeTarget | null,
  ): void {
    const before = this.writes.length;
    const writes = this.write(rows, a, b, 'x');
    if (writes === '') {
      this.failed = true;
      return;
    }
    const nulls = this.writes
      .slice(before)
      .map((w) => `${w.cell} = null;`)
      .join(' ');
    this.lines.push(`if (${v} !== null) { ${test} ${writes} } else { ${nulls} }`);
  }

  /** A cell both rows of a track have (`event`, `event_text`); the emitter fails if it cannot be written. */
  pairCells(root: ColumnLayout, own: ColumnLayout, column: string, value: string): void {
    const rows = { root: 'ra', own: 'rb' };
    const line = this.write(
      rows,
      { role: 'root', pos: root.position(column), type: 'STRING' },
      { role: 'own', pos: own.position(column), type: 'STRING' },
      value,
    );
    if (line === '') this.failed = true;
    this.lines.push(line);
  }

  /**
   * The bookkeeping cells (load time, load id) every row ends with, of the row of role `a` (and of `b`, a track's
   * own row); `rows` maps roles to row variables.
   */
  meta(rows: Record<string, string>, a: [RowRole, ColumnLayout], b?: [RowRole, ColumnLayout]): void {
    const values = this.options.tableValues;
    if (values === undefined) return;
    const at = a[1].positionsOf(this.options.tableColumns);
    const bt = b?.[1].positionsOf(this.options.tableColumns);
    const writes = values.map((_v, j) =>
      this.write(
        rows,
        { role: a[0], pos: at[j] as number, type: 'STRING' },
        b === undefined ? null : { role: b[0], pos: bt?.[j] as number, type: 'STRING' },
        `TV[${j}]`,
      ),
    );
    if (writes.includes('')) this.failed = true;
    this.lines.push(writes.join(' '));
  }

  /**
   * Code that fills rows from the object in variable `o` of shape `shape`; `rows` names each role's row. `rules`
   * (the event's own members): the protocol's rule of each member that has one is checked first. `path`: how to
   * read `o` from the event without failing (`ev?.properties`), for objects outside child rows.
   */
  object(
    o: string,
    shape: ObjectShape,
    rows: Record<string, string>,
    parentId: string,
    rules?: MemberRules,
    path?: string,
  ): void {
    const base = this.keys.length;
    this.keys.push(...shape.keys);
    const j = this.fresh('j');
    this.lines.push(
      `let ${j} = 0; for (const k in ${o}) { if (k !== K[${base} + ${j}]) return; ${j}++; } if (${j} !== ${shape.keys.length}) return;`,
    );
    for (let i = 0; i < shape.members.length; i++) {
      // A key made only of identifier characters is read as `o.key` (it cannot change the code's meaning);
      // any other key through the K array.
      const key = shape.keys[i] as string;
      const plain = IDENTIFIER.test(key) && key !== '__proto__';
      let read = plain ? `${o}.${key}` : `${o}[K[${base + i}]]`;
      const at = path === undefined ? undefined : plain ? `${path}?.${key}` : `${path}?.[K[${base + i}]]`;
      const member = shape.members[i] as ShapeMember;
      const rule = rules?.rules.get(key);
      if (rule !== undefined) {
        const p = this.fresh('p');
        // A date-time member read into a TIMESTAMP column needs no rule of its own: what rfc3339 accepts, the
        // protocol does (property-tested in infer.test.ts); only null, which the column takes, is not a date-time.
        const timestamp =
          rules?.dateTimes.has(key) && member.kind === 'leaf' && member.a.type === 'TIMESTAMP';
        // An id recorded as a value (a non-empty string) refuses "": an empty id is absent (`ID_KEYS`).
        const id = o === 'ev' && ID_KEYS.has(key) && member.kind === 'leaf' ? ` || ${p} === ''` : '';
        const test = timestamp ? `${p} === null` : `!R[${this.rules.push(rule) - 1}](${p})${id}`;
        this.lines.push(`const ${p} = ${read}; if (${test}) return;`);
        read = p;
      }
      this.member(read, member, rows, parentId, o === 'ev' && key === 'receivedAt', at);
    }
  }

  /**
   * `receivedAt`: the member is the event's receivedAt, already checked by the caller (`RA`). `path`: see
   * `object`.
   */
  private member(
    read: string,
    m: ShapeMember,
    rows: Record<string, string>,
    parentId: string,
    receivedAt: boolean,
    path: string | undefined,
  ): void {
    if (m.kind === 'skip') return;
    const v = this.fresh('v');
    this.lines.push(`const ${v} = ${read};`);
    switch (m.kind) {
      case 'null':
        this.lines.push(`if (${v} !== null) return;`);
        return;
      case 'absent':
        // An empty id: absent as null is (see `ID_KEYS` in segment-layout.ts).
        this.lines.push(`if (${v} !== null && ${v} !== '') return;`);
        return;
      case 'empty':
        this.lines.push(`if (${v} !== null && !(Array.isArray(${v}) && ${v}.length === 0)) return;`);
        return;
      case 'json': {
        // An array kept as JSON (as the fast path: non-empty, not all objects where those make child rows, no
        // integer beyond 2^53, which needs the exact parse) into a JSON column, as the same text.
        if (m.a.type !== 'JSON' || (m.b !== null && m.b.type !== 'JSON')) {
          this.failed = true;
          return;
        }
        const objects = m.objects ? '' : ` || ${v}.every(IS_PLAIN)`;
        this.leafCode(
          v,
          `if (!Array.isArray(${v}) || ${v}.length === 0${objects}) return; x = TO_JSON(${v}); if (x === undefined) return;`,
          rows,
          m.a,
          m.b,
        );
        return;
      }
      case 'leaf': {
        const test =
          receivedAt && m.envelope && m.a.type === 'TIMESTAMP'
            ? 'x = RA; if (x === undefined) return;'
            : valueCheck(m.a.type);
        if (test === undefined || (m.b !== null && m.b.type !== m.a.type)) {
          this.failed = true;
          return;
        }
        this.leafCode(v, `v = ${v}; ${test}`, rows, m.a, m.b);
        return;
      }
      case 'object': {
        // A null object gives a null cell for every leaf below it (in the rows that exist outside it), so the
        // rows keep their positions.
        const before = this.writes.length;
        const outside = new Set([...this.rows.values()].map((r) => r.array));
        this.lines.push(`if (${v} !== null) { if (typeof ${v} !== 'object' || Array.isArray(${v})) return;`);
        this.object(v, m.shape, rows, parentId, undefined, path);
        const nulls = this.writes
          .slice(before)
          .filter((w) => outside.has(w.array))
          .map((w) => `${w.cell} = null;`);
        this.lines.push(`} else { ${nulls.join(' ')} }`);
        return;
      }
      case 'children': {
        if (m.item === undefined || m.layout === undefined) {
          this.failed = true;
          return;
        }
        // Array mode `both`: the array's JSON text on the parent row too (as the fast path: a non-empty array of
        // objects), written once every item has passed the checks below (`json-text.ts`).
        if (m.json !== null && m.json.type !== 'JSON') {
          this.failed = true;
          return;
        }
        if (m.json !== null) {
          this.lines.push(`if (${v} !== null && (!Array.isArray(${v}) || ${v}.length === 0)) return;`);
        }
        const t = this.tables.push(m.table) - 1;
        const l = this.layouts.push(m.layout) - 1;
        const layout = m.layout;
        const i = this.fresh('i');
        const it = this.fresh('it');
        const r = this.fresh('r');
        const id = this.fresh('id');
        const p = this.row(r);
        this.positions[p]?.push(
          layout.position(CHILD_COLUMNS.rootId),
          layout.position(CHILD_COLUMNS.parentId),
          layout.position(CHILD_COLUMNS.id),
          layout.position(CHILD_COLUMNS.listIndex),
        );
        this.lines.push(
          `if (${v} !== null) { if (!Array.isArray(${v})) return; for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`,
          `const ${it} = ${v}[${i}]; if (typeof ${it} !== 'object' || ${it} === null || Array.isArray(${it})) return;`,
          '', // the item's cells, sized once the item's code is emitted (below)
          `out[on++] = { table: T[${t}], columns: L[${l}].columns, at: P[${p}], cells: ${r}c };`,
        );
        const sized = this.lines.length - 2;
        if (path !== undefined) this.childArrays.push(path);
        this.object(it, m.item, { ...rows, item: r }, id);
        this.meta({ item: r }, ['item', layout]);
        this.lines[sized] =
          `const ${id} = ${parentId} + '.' + ${i}; const ${r}c = new Array(${this.cellCount(r)});` +
          ` ${r}c[0] = eventId; ${r}c[1] = ${parentId}; ${r}c[2] = ${id}; ${r}c[3] = ${i};`;
        this.lines.push('} }');
        if (m.json !== null) this.leafCode(v, `x = ${this.json.array(m.item)}(${v});`, rows, m.json, null);
        return;
      }
    }
  }
}

/** A track's two rows sharing one cells array: `shared` cells of both rows, then the own row's (`own`). */
interface SharedPair {
  shared: number;
  /** Index of the next shared cell. */
  next: number;
  /** Positions of the own row's cells after the shared ones. */
  own: number[];
}

interface RowCells {
  /** The variable of the cells array. */
  array: string;
  /** The row's positions (`P[...]`). */
  at: number[];
  pair?: SharedPair;
  role?: 'root' | 'own';
}
