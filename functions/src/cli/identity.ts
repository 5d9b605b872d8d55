// `npm run identity -- <rebuild|update|erase> [--id type:value ...]`: the identity graph's maintenance.
// - rebuild: re-derives identity_edges from the event tables and recomputes identity_map / identity_merges (after a
//   rule change in the contracts file, a privacy delete of events, or to check the incremental result);
// - update: the bounded incremental update under a lease: the identity_edge_log rows loaded since the watermark are
//   compacted into identity_edges and only the components they touch are recomputed (what GCP's scheduled update
//   function runs, hourly by default; DuckDB keeps the map current per file and needs it only after a crash left an
//   upkeep undone and no redelivery came);
// - erase --id user_id:u1 [--id ...]: removes those ids' persons from the graph (a privacy delete).
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { createDestinationFactory } from '../destinations/create-destination.ts';
import { eraseIdentities } from '../identity/erase.ts';
import { rebuildIdentity } from '../identity/rebuild.ts';
import { runIdentityUpdate } from '../identity/run-update.ts';
import type { IdRef } from '../identity/tables.ts';
import { createLogger } from '../logger.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { runCli } from './run-loads.ts';

const USAGE = 'usage: npm run identity -- <rebuild|update|erase> [--id <id type>:<value> ...]';

function parseId(text: string): IdRef | undefined {
  const cut = text.indexOf(':');
  if (cut <= 0 || cut === text.length - 1) return undefined;
  return { type: text.slice(0, cut), value: text.slice(cut + 1) };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { id: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || command === undefined || !['rebuild', 'update', 'erase'].includes(command)) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const ids = (values.id ?? []).map((t) => ({ text: t, ref: parseId(t) }));
  const bad = ids.filter((i) => i.ref === undefined);
  if (command === 'erase' && (ids.length === 0 || bad.length > 0)) {
    console.error(
      `erase needs --id <type>:<value> (got ${bad.map((b) => JSON.stringify(b.text)).join(', ') || 'none'})`,
    );
    return 2;
  }
  const config = loadConfig();
  const rules = config.contracts.identity ?? DEFAULT_IDENTITY_RULES;
  const destination = await createDestinationFactory(config)();
  if (command === 'update') {
    const outcome = await runIdentityUpdate(config, destination, createLogger(config.logLevel));
    if (outcome.outcome === 'busy') {
      console.log(
        `update: another run holds the lease until ${new Date(outcome.expiresAt ?? 0).toISOString()}`,
      );
      return 0;
    }
    console.log(
      `update: ${outcome.edges} edge(s), ${outcome.ids} id(s), ${outcome.components} component(s) recomputed; watermark ${outcome.watermark ?? 'none'}`,
    );
    return 0;
  }
  const hook = destination.identity;
  if (hook === undefined) {
    console.error(`the ${config.destination} destination keeps no identity graph`);
    return 1;
  }
  await destination.open();
  try {
    const store = hook.store();
    if (command === 'erase') {
      const result = await eraseIdentities(
        store,
        ids.map((i) => i.ref as IdRef),
        rules,
      );
      console.log(`erased ${result.erased.length} id(s); recomputed ${result.recomputed} remaining id(s)`);
      return 0;
    }
    const report = await rebuildIdentity(store, rules);
    console.log(
      `${command}: ${report.edges} edge(s), ${report.ids} id(s), ${report.components} component(s)`,
    );
    return 0;
  } finally {
    await destination.close();
  }
}

runCli(main);
