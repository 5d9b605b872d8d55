/**
 * The identity graph's rules (issue 20), configured under `identity` in the schema-contracts file:
 * `{"identity": {"maxUserIdsPerPerson": 1, "blockedValues": ["guest"], "traitIdTypes": ["email"]}}`.
 * Defaults follow Segment Unify's: one user id per person, the usual junk values blocked, no trait ids.
 */
export interface IdentityRules {
  /** A person holds at most this many user ids: an edge that would join two persons beyond it is flagged, not applied. */
  maxUserIdsPerPerson: number;
  /** Values (compared trimmed, case-insensitively) that never link, on top of `BUILT_IN_BLOCKED`. */
  blockedValues: readonly string[];
  /** `identifies` columns (flattened traits, e.g. `email`) whose values are ids of their own type. */
  traitIdTypes: readonly string[];
  /**
   * The most ids one identity update may recompute at once (the touched components together): a larger component
   * fails the update with SLUICE_ERR_IDENTITY_COMPONENT_TOO_LARGE instead of being read whole into memory.
   */
  maxComponentIds: number;
  /**
   * The most compacted links one identity update may read at once (the touched components' edges together): a
   * component with fewer ids but more links than this (every pair of a few thousand ids linked) fails the update the
   * same way, before its edges are read whole into memory. The default, 50,000, fits the loader's 128 MB heap
   * with room (the links read, the map computed from them); 200,000 ran it out of memory.
   */
  maxComponentEdges: number;
}

export const DEFAULT_IDENTITY_RULES: IdentityRules = {
  maxUserIdsPerPerson: 1,
  blockedValues: [],
  traitIdTypes: [],
  maxComponentIds: 100_000,
  maxComponentEdges: 50_000,
};

/** Values that never link, whatever the configuration (compared trimmed and lower-cased). */
export const BUILT_IN_BLOCKED = ['-1', 'null', 'undefined', 'anonymous'] as const;

/** Empty, zeros and dashes only (`0`, `00000000-0000-0000-0000-000000000000`, `-`): placeholder ids. */
const PLACEHOLDER = /^[0-]*$/;

/** True when `value` may not link anything (a blocked or placeholder id). */
export function isBlocked(value: string, rules: IdentityRules): boolean {
  const v = value.trim().toLowerCase();
  if (PLACEHOLDER.test(v)) return true;
  if ((BUILT_IN_BLOCKED as readonly string[]).includes(v)) return true;
  return rules.blockedValues.some((b) => b.trim().toLowerCase() === v);
}

const TRAIT_NAME = /^[a-z_][a-z0-9_]*$/;
/** Id types the loader itself uses; a trait id type may not reuse one. */
export const CORE_ID_TYPES = ['user_id', 'anonymous_id'] as const;

/** Validates the `identity` section of a contracts document, pushing every problem. */
export function parseIdentityRules(value: unknown, problems: string[]): IdentityRules {
  if (value === undefined) return DEFAULT_IDENTITY_RULES;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('identity: must be an object');
    return DEFAULT_IDENTITY_RULES;
  }
  const doc = value as Record<string, unknown>;
  const rules: IdentityRules = { ...DEFAULT_IDENTITY_RULES };
  for (const key of Object.keys(doc)) {
    if (
      ![
        'maxUserIdsPerPerson',
        'blockedValues',
        'traitIdTypes',
        'maxComponentIds',
        'maxComponentEdges',
      ].includes(key)
    )
      problems.push(`identity.${key}: unknown key`);
  }
  const max = doc.maxUserIdsPerPerson;
  if (max !== undefined) {
    if (typeof max === 'number' && Number.isInteger(max) && max >= 1) rules.maxUserIdsPerPerson = max;
    else problems.push('identity.maxUserIdsPerPerson: must be an integer >= 1');
  }
  const maxIds = doc.maxComponentIds;
  if (maxIds !== undefined) {
    if (typeof maxIds === 'number' && Number.isInteger(maxIds) && maxIds >= 2) rules.maxComponentIds = maxIds;
    else problems.push('identity.maxComponentIds: must be an integer >= 2');
  }
  const maxEdges = doc.maxComponentEdges;
  if (maxEdges !== undefined) {
    if (typeof maxEdges === 'number' && Number.isInteger(maxEdges) && maxEdges >= 1)
      rules.maxComponentEdges = maxEdges;
    else problems.push('identity.maxComponentEdges: must be an integer >= 1');
  }
  const strings = (name: 'blockedValues' | 'traitIdTypes'): string[] | undefined => {
    const list = doc[name];
    if (list === undefined) return undefined;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
      problems.push(`identity.${name}: must be an array of strings`);
      return undefined;
    }
    return list as string[];
  };
  const blocked = strings('blockedValues');
  if (blocked) rules.blockedValues = blocked;
  const traits = strings('traitIdTypes');
  if (traits) {
    const bad = traits.filter((t) => !TRAIT_NAME.test(t) || (CORE_ID_TYPES as readonly string[]).includes(t));
    if (bad.length > 0)
      problems.push(
        `identity.traitIdTypes: ${bad.map((b) => JSON.stringify(b)).join(', ')} must be identifies column names (snake_case), not user_id/anonymous_id`,
      );
    else rules.traitIdTypes = traits;
  }
  return rules;
}
