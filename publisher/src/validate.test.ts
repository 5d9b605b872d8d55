import { checkEvent } from '@sluice/sdk/protocol';
import { describe, expect, it } from 'vitest';
import { generateEvents } from './loadgen/generate.ts';
import { validateEvent } from './validate.ts';

describe('validateEvent', () => {
  it('gives the same verdicts and issues as the protocol checkEvent', () => {
    const events = generateEvents({ seed: 11, users: 50, eventsPerUser: 20, invalidRate: 0.1 });
    const extra: unknown[] = [null, [], 'x', { type: 'track', event: 'e' }, { type: 'alias', userId: 'u' }];
    for (const value of [...events.map((e) => e.event), ...extra]) {
      expect(validateEvent(value)).toEqual(checkEvent(value));
    }
  });
});
