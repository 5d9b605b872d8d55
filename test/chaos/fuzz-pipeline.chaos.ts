/**
 * Fuzz inside a running local stack (`npm run test:chaos`): generated requests to the collector over HTTP and
 * generated raw files handed to the loader, then the common checks (every accepted event loaded or recorded in
 * failed events with its reason, every file loaded and reconciled, nothing left behind).
 */
import { describe, expect, it } from 'vitest';
import { runScenario, SCENARIO_TIMEOUT_MS } from './harness/scenario.ts';
import { FUZZ } from './scenarios.ts';

describe('pipeline fuzz (fast-check, local stack)', () => {
  for (const [name, scenario] of Object.entries(FUZZ)) {
    it(
      `${name}: never a 5xx or a crash; every accepted event loaded or recorded`,
      async () => {
        const result = await runScenario(scenario);
        console.log(`${name}: ${JSON.stringify(result.figures)} ${result.notes.join('; ')}`);
        expect(result.problems).toEqual([]);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});
