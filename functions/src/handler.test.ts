import { describe, expect, it } from 'vitest';
import { objectRefOf } from './handler.ts';

describe('objectRefOf: the object and its custom metadata from a storage CloudEvent', () => {
  it('takes StorageObjectData metadata when the event carries it (string values only)', () => {
    expect(
      objectRefOf({
        kind: 'storage#object',
        bucket: 'b',
        name: 'raw/x.ndjson',
        generation: '17',
        metadata: { 'sluice-rewrite-of': '16', n: 5 },
      }),
    ).toEqual({
      bucket: 'b',
      name: 'raw/x.ndjson',
      generation: '17',
      metadata: { 'sluice-rewrite-of': '16' },
    });
  });

  it('a full object resource without metadata has none (no objects.get needed); a minimal event says nothing', () => {
    expect(objectRefOf({ kind: 'storage#object', bucket: 'b', name: 'n', generation: 3 })?.metadata).toEqual(
      {},
    );
    const minimal = objectRefOf({ bucket: 'b', name: 'n', generation: '3' });
    expect(minimal).toEqual({ bucket: 'b', name: 'n', generation: '3' });
    expect(minimal && 'metadata' in minimal).toBe(false);
  });
});
