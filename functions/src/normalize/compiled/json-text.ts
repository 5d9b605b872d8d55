import type { ObjectShape, ShapeMember } from './shape.ts';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * The code of functions that write the JSON text of an array of objects of a recorded item shape (the JSON column
 * of an array whose items are also child rows, array mode `both`), for a compiled shape: the same text as
 * `JSON.stringify` without its generic walk. They run only after the shape's own checks took every item (key
 * order and set, each leaf a string, a finite number, a boolean or null; each array kept as JSON free of integers
 * beyond 2^53), which is what makes the text `JSON.stringify`'s: keys in order, `JV` for a leaf
 * (`JSON.stringify` of a string, `String` of the rest), `JSON.stringify` of an array kept as JSON. Keys are read
 * from arrays (`K`, and `KQ`: each key's JSON text and colon, with the comma before it), never spliced into the
 * source, as in `emitter.ts`.
 */
export class JsonText {
  /** The generated functions' source (`function J0(o) {...}`), emitted before the compiled shape's body. */
  readonly functions: string[] = [];
  /** Each member's `,"key":` (`"key":` for the first), read by index. */
  readonly quoted: string[] = [];
  private n = 0;

  constructor(private readonly keys: string[]) {}

  /** The name of a function `(array) => JSON text` of an array of objects of shape `item`. */
  array(item: ObjectShape): string {
    const name = `JA${this.n++}`;
    const object = this.object(item);
    this.functions.push(
      `function ${name}(a) { let s = '['; for (let i = 0; i < a.length; i++) { if (i > 0) s += ','; s += ${object}(a[i]); } return s + ']'; }`,
    );
    return name;
  }

  private object(shape: ObjectShape): string {
    const name = `JO${this.n++}`;
    const base = this.keys.push(...shape.keys) - shape.keys.length;
    const parts: string[] = [];
    for (let i = 0; i < shape.keys.length; i++) {
      const key = shape.keys[i] as string;
      const read = IDENTIFIER.test(key) && key !== '__proto__' ? `o.${key}` : `o[K[${base + i}]]`;
      const q = this.quoted.push(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`) - 1;
      parts.push(`KQ[${q}] + ${this.value(shape.members[i] as ShapeMember, read)}`);
    }
    this.functions.push(`function ${name}(o) { let v; return '{' + ${parts.join(' + ') || "''"} + '}'; }`);
    return name;
  }

  /** The JSON text of member `m` read as `read` (null where the shape allows it). */
  private value(m: ShapeMember, read: string): string {
    switch (m.kind) {
      case 'leaf':
        return `JV(${read})`;
      case 'object':
        return `((v = ${read}) === null ? 'null' : ${this.object(m.shape)}(v))`;
      case 'children':
        return m.item === undefined
          ? `JSON.stringify(${read})`
          : `((v = ${read}) === null ? 'null' : ${this.array(m.item)}(v))`;
      default:
        // null, an array kept as JSON, an empty array (`skip` and `absent` are envelope members only).
        return `JSON.stringify(${read})`;
    }
  }
}

/** A checked leaf's JSON text: a string's by `JSON.stringify`, a finite number's, a boolean's or null's by `String`. */
export function jsonLeaf(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}
