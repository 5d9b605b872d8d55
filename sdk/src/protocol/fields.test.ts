import { type TSchema, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonObject } from './fields.ts';

/** The record form JsonObject used to be: the reference its cheaper form must agree with. */
const RecordForm = Type.Record(Type.String(), Type.Unknown());
const IntegrationsRecordForm = Type.Record(Type.String(), Type.Union([Type.Boolean(), RecordForm]));
const Integrations = Type.Record(Type.String(), Type.Union([Type.Boolean(), JsonObject]));

const compiled = new Map<TSchema, TypeCheck<TSchema>>();

function verdicts(schema: TSchema, value: unknown) {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return {
    ok: check.Check(value),
    errors: [...check.Errors(value)].map((e) => ({ path: e.path, message: e.message })),
  };
}

describe('JsonObject', () => {
  it('rejects arrays, null and scalars as "Expected object", like the record form', () => {
    for (const value of [[], [1, { a: 1 }], null, 'x', 1, true]) {
      const own = verdicts(JsonObject, value);
      expect(own.ok).toBe(false);
      expect(own).toEqual(verdicts(RecordForm, value));
    }
    expect(verdicts(JsonObject, {}).ok).toBe(true);
    expect(verdicts(JsonObject, { '': 1, __proto__x: [], nested: { a: [null] } }).ok).toBe(true);
  });

  it('gives the record form’s verdicts and errors for every JSON value (alone and inside Integrations)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue()), (value, integrations) => {
        expect(verdicts(JsonObject, value)).toEqual(verdicts(RecordForm, value));
        expect(verdicts(Integrations, integrations)).toEqual(verdicts(IntegrationsRecordForm, integrations));
      }),
      { numRuns: 500 },
    );
  });

  it('compiles to a type test only (no per-key work)', () => {
    const code = TypeCompiler.Code(JsonObject);
    expect(code).not.toContain('Object.entries');
    expect(code).not.toContain('.test(');
  });
});
