/** The rest of the chaos suite (`npm run test:chaos` only): the scenarios not yet in the short form. */
import { describe, expect, it } from 'vitest';
import { runScenario, SCENARIO_TIMEOUT_MS } from './harness/scenario.ts';
import { SCENARIOS, SHORT } from './scenarios.ts';

describe('chaos (full suite)', () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    if (SHORT.includes(name)) continue;
    it(
      `${name}: every acknowledged event exactly once, nothing stuck or left behind`,
      async () => {
        const result = await runScenario(scenario);
        console.log(`${name}: ${JSON.stringify(result.figures)} ${result.notes.join('; ')}`);
        expect(result.problems).toEqual([]);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});
