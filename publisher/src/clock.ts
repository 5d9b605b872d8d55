/** Time source, injected so tests can fix `receivedAt` and drive rotation. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
