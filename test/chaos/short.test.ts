/** The short form of the chaos suite, part of `npm test`: the scenarios that hold on main (see scenarios.ts). */
import { describe, expect, it } from 'vitest';
import { runScenario } from './harness/scenario.ts';
import { SCENARIOS, SHORT } from './scenarios.ts';

describe('chaos (short form)', () => {
  for (const name of SHORT) {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    it(`${name}: every acknowledged event exactly once, nothing stuck or left behind`, async () => {
      const result = await runScenario(scenario);
      console.log(`${name}: ${JSON.stringify(result.figures)} ${result.notes.join('; ')}`);
      expect(result.problems).toEqual([]);
    }, 150_000);
  }
});
