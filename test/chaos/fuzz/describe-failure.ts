/** A fast-check failure in a few hundred characters (counterexamples such as depth-5,000 bodies are huge). */
export function describeFailure(details: {
  errorInstance: unknown;
  counterexample: unknown;
  seed: number;
}): string {
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const example = JSON.stringify(details.counterexample) ?? '';
  return `${cause.slice(0, 300)} (seed ${details.seed}; counterexample ${example.length} chars: ${example.slice(0, 400)})`;
}
