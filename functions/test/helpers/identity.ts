import type { Destination } from '../../src/destinations/destination.ts';
import type { IdentityStore } from '../../src/identity/upkeep.ts';

/** Runs `work` with the identity store of an open destination, then closes it. */
export async function withStore<T>(
  destination: Destination,
  work: (s: IdentityStore) => Promise<T>,
): Promise<T> {
  await destination.open();
  try {
    const hook = destination.identity;
    if (!hook) throw new Error('destination has no identity support');
    return await work(hook.store());
  } finally {
    await destination.close();
  }
}
