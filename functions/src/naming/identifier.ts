import type { DestinationCapabilities } from '../model/warehouse.ts';
import { stableHash } from './stable-hash.ts';

/** Naming rules that depend on the destination, derived once from its capabilities (data, not branches). */
export interface NamingRules {
  maxColumn: number;
  maxTable: number;
  reserved: ReadonlySet<string>;
  reservedPrefixes: readonly string[];
}

export function namingRules(caps: DestinationCapabilities): NamingRules {
  return {
    maxColumn: caps.maxColumnNameLength,
    maxTable: caps.maxTableNameLength,
    reserved: new Set(caps.reservedWords.map((w) => w.toLowerCase())),
    reservedPrefixes: caps.reservedColumnPrefixes.map((p) => p.toLowerCase()),
  };
}

/**
 * Turns a snake_case base name into a legal identifier:
 * empty -> `_<hash of the raw key>`; a reserved word (or `constructor`, which every JavaScript object answers to,
 * so a row's `values.constructor` is never ambiguous) -> `<word>_`; a reserved prefix -> `x<name>`;
 * longer than `max` -> the first `max - 9` characters + `_` + 8-hex FNV-1a hash of the full name.
 */
export function finishIdentifier(
  base: string,
  rawForEmpty: string,
  rules: NamingRules,
  max: number,
  isColumn: boolean,
): string {
  let name = base === '' ? `_${stableHash(rawForEmpty)}` : base;
  if (rules.reserved.has(name) || name === 'constructor') name = `${name}_`;
  if (isColumn && rules.reservedPrefixes.some((p) => name.startsWith(p))) name = `x${name}`;
  if (name.length > max) name = `${name.slice(0, max - 9)}_${stableHash(name)}`;
  return name;
}
