import { describe, expect, it } from 'vitest';
import { Deadlines } from './deadlines.ts';

class Late extends Error {}

function deferred(): { promise: Promise<string>; resolve: (v: string) => void; reject: (e: Error) => void } {
  let resolve!: (v: string) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Deadlines', () => {
  it('settles as the promise does when it is in time', async () => {
    const deadlines = new Deadlines(1000, () => new Late());
    await expect(deadlines.within(Promise.resolve('ok'))).resolves.toBe('ok');
    await expect(deadlines.within(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('rejects each late promise after the time limit, and only the late ones', async () => {
    const deadlines = new Deadlines(80, () => new Late());
    const started = performance.now();
    const fast = deferred();
    const slow = [deferred(), deferred(), deferred()];
    const results = [fast, ...slow].map((d) =>
      deadlines.within(d.promise).then(
        (value) => ({ value, ms: performance.now() - started }),
        (error: unknown) => ({ error, ms: performance.now() - started }),
      ),
    );
    fast.resolve('fast');
    const settled = await Promise.all(results);
    expect(settled[0]).toMatchObject({ value: 'fast' });
    for (const late of settled.slice(1)) {
      expect(late).toMatchObject({ error: expect.any(Late) });
      expect(late.ms).toBeGreaterThanOrEqual(75);
    }
    // A settlement after the deadline changes nothing.
    slow[0]?.resolve('too late');
  });

  it('times out waiters added after the first deadline fired, each on its own limit', async () => {
    const deadlines = new Deadlines(50, () => new Late());
    await expect(deadlines.within(deferred().promise)).rejects.toBeInstanceOf(Late);
    const started = performance.now();
    await expect(deadlines.within(deferred().promise)).rejects.toBeInstanceOf(Late);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });
});
