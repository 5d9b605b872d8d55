import type { LogicalType } from '../../model/warehouse.ts';
import { COERCION, type ValueKind } from '../../schema/coercion.ts';

/**
 * How generated code tells the kind (`ValueKind`) of a parsed JSON value `v`, by its JavaScript type: each test
 * in order, the first that holds names the kind, `cell` is the value written (a timestamp as `rfc3339` gives it,
 * in `t`). What no test takes (an integer beyond 2^53, a non-finite number, a bigint) is no compiled shape's: the
 * code returns, and the general path decides.
 */
const KINDS_BY_JS_TYPE: Readonly<Record<'boolean' | 'number' | 'string', readonly KindTest[]>> = {
  boolean: [{ kind: 'BOOL', test: 'true', cell: 'v' }],
  number: [
    { kind: 'INT64', test: 'Number.isSafeInteger(v)', cell: 'v' },
    { kind: 'FLOAT64', test: 'Number.isFinite(v) && !Number.isInteger(v)', cell: 'v' },
  ],
  string: [
    { kind: 'TIMESTAMP', test: '(t = rfc3339(v)) !== undefined', cell: 't' },
    { kind: 'STRING', test: 'true', cell: 'v' },
  ],
};

interface KindTest {
  kind: ValueKind;
  /** Source text of the test on `v` (it may set `t`). */
  test: string;
  cell: string;
}

/**
 * Source text that sets `x` to the cell of value `v` in a column of type `column`, or returns (undefined from
 * the compiled shape) when the coercion table (`COERCION`) does not write that value's kind into it as is.
 * Generated from the table, so a rule changed there changes the compiled shapes too. Undefined when the column
 * takes no kind a compiled shape can write (a JSON column takes scalars as JSON text: left to the fast path).
 * An envelope member needs no rule of its own: its shape was recorded from a string, so its column takes a
 * string kind, and the table writes no number or boolean into such a column (a numeric id, which the general path
 * writes as its text, then returns: the differential test puts every kind at `userId` and `anonymousId`).
 */
export function valueCheck(column: LogicalType): string | undefined {
  const writes = COERCION[column];
  const branches: string[] = [];
  for (const [jsType, tests] of Object.entries(KINDS_BY_JS_TYPE)) {
    if (!tests.some((k) => writes[k.kind] === 'write')) continue;
    const chain = tests
      .map((k) => {
        const body = writes[k.kind] === 'write' ? `x = ${k.cell};` : 'return;';
        return k.test === 'true' ? `{ ${body} }` : `if (${k.test}) { ${body} } else `;
      })
      .join('');
    // A chain that ends in a test (no catch-all kind) returns when none holds.
    const closed = chain.endsWith('else ') ? `${chain}return;` : chain;
    branches.push(`if (typeof v === '${jsType}') { ${closed} }`);
  }
  if (branches.length === 0) return undefined;
  return `${branches.join(' else ')} else return;`;
}
