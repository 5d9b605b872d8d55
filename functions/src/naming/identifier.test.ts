import { describe, expect, it } from 'vitest';
import { BIGQUERY_CAPABILITIES } from '../destinations/bigquery/capabilities.ts';
import { DUCKDB_CAPABILITIES } from '../destinations/duckdb/capabilities.ts';
import { finishIdentifier, namingRules } from './identifier.ts';
import { GOOGLESQL_RESERVED_KEYWORDS } from './sql-reserved-words.ts';
import { stableHash } from './stable-hash.ts';

const rules = namingRules(DUCKDB_CAPABILITIES);

describe('finishIdentifier (capabilities as data)', () => {
  it('keeps reserved keywords, suffixes constructor, prefixes reserved column prefixes, hashes empty names', () => {
    // GoogleSQL's reserved keywords are legal quoted names on both destinations: not renamed (issue 14 item 10).
    for (const word of GOOGLESQL_RESERVED_KEYWORDS) {
      expect(finishIdentifier(word, word, rules, 300, true)).toBe(word);
      expect(finishIdentifier(word, word, namingRules(BIGQUERY_CAPABILITIES), 300, false)).toBe(word);
    }
    expect(finishIdentifier('constructor', 'constructor', rules, 300, true)).toBe('constructor_');
    expect(finishIdentifier('_table_suffix', '_TABLE_SUFFIX', rules, 300, true)).toBe('x_table_suffix');
    expect(finishIdentifier('', '***', rules, 300, true)).toBe(`_${stableHash('***')}`);
  });

  it('shortens over-long names with a stable hash of the full name, within the limit', () => {
    const long = 'a'.repeat(400);
    const name = finishIdentifier(long, long, rules, 300, true);
    expect(name).toHaveLength(300);
    expect(name).toBe(`${'a'.repeat(291)}_${stableHash(long)}`);
    expect(finishIdentifier(`${long}b`, long, rules, 300, true)).not.toBe(name);
  });

  it('follows a different destination limit without code changes', () => {
    const narrow = namingRules({ ...DUCKDB_CAPABILITIES, maxColumnNameLength: 20, reservedWords: ['plan'] });
    expect(finishIdentifier('plan', 'plan', narrow, narrow.maxColumn, true)).toBe('plan_');
    expect(finishIdentifier('a_rather_long_column_name', 'x', narrow, narrow.maxColumn, true)).toHaveLength(
      20,
    );
  });
});
