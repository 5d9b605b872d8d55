// `npm run privacy -- <command>`: erase and suppress people (docs/privacy.md).
//   delete --user-id U [--user-id ...] [--anonymous-id A ...] [--reason "..."] [--dry-run] [--keep-collecting]
//   suppress --user-id U [--anonymous-id A ...] [--reason "..."]      unsuppress --user-id U [--anonymous-id A ...]
//   status <request-id>      list
// Same code path on both destinations (SLUICE_DESTINATION); re-running an interrupted delete resumes it.
import { parseArgs } from 'node:util';
import { type LoaderConfig, loadConfig } from '../config.ts';
import { LoaderError } from '../errors.ts';
import { createRawStore } from '../privacy/create-raw-store.ts';
import { changeSuppression, deletePerson, type PrivacyDeps } from '../privacy/engine.ts';
import { type LedgerRow, ledger } from '../privacy/ledger.ts';
import { openPrivacyWarehouse } from '../privacy/open-warehouse.ts';
import { runCli } from './run-loads.ts';

const USAGE = `usage: npm run privacy -- delete --user-id U [--anonymous-id A ...] [--reason "..."] [--dry-run] [--keep-collecting]
       npm run privacy -- suppress|unsuppress --user-id U [--anonymous-id A ...] [--reason "..."]
       npm run privacy -- status <request-id>
       npm run privacy -- list`;

/** A ledger row as printed: never the ids in clear (they are null once done; a running row keeps them to resume). */
function printable(row: LedgerRow): Record<string, unknown> {
  const { ids: _ids, bytesBilled, ...rest } = row;
  return { ...rest, bytesBilled: String(bytesBilled) };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'user-id': { type: 'string', multiple: true },
      'anonymous-id': { type: 'string', multiple: true },
      reason: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'keep-collecting': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const config: LoaderConfig = loadConfig();
  const given = { userIds: values['user-id'] ?? [], anonymousIds: values['anonymous-id'] ?? [] };
  const warehouse = await openPrivacyWarehouse(config);
  try {
    const deps: PrivacyDeps = {
      warehouse,
      raw: await createRawStore(config),
      rawBucket: config.rawBucket,
      rawPrefix: config.privacy.rawPrefix,
      suppression: { bucket: config.privacy.bucket, object: config.privacy.suppressionObject },
      settleMs: config.privacy.settleMs,
      identityRules: config.contracts.identity,
      report: (line) => console.log(line),
    };
    switch (command) {
      case 'delete': {
        const out = await deletePerson(deps, given, {
          ...(values.reason === undefined ? {} : { reason: values.reason }),
          dryRun: values['dry-run'] ?? false,
          suppress: !(values['keep-collecting'] ?? false),
        });
        if (out.row) console.log(`request ${out.row.requestId}: ${out.row.status}`);
        return 0;
      }
      case 'suppress':
      case 'unsuppress': {
        const row = await changeSuppression(deps, command, given, values.reason);
        console.log(`request ${row.requestId}: ${row.status}`);
        return 0;
      }
      case 'status': {
        const id = rest[0];
        if (id === undefined)
          throw new LoaderError('SLUICE_ERR_PRIVACY_INVALID_REQUEST', 'status <request-id>');
        const book = ledger(warehouse);
        await book.ensure();
        const row = await book.get(id);
        if (!row) throw new LoaderError('SLUICE_ERR_PRIVACY_NOT_FOUND', id);
        console.log(JSON.stringify(printable(row), null, 2));
        return 0;
      }
      case 'list': {
        const book = ledger(warehouse);
        await book.ensure();
        for (const row of await book.list()) {
          console.log(
            `${row.requestId}  ${row.kind.padEnd(10)} ${row.status.padEnd(7)} ${row.requestedAt}  ids=${row.idHashes.length} rows=${Object.values(row.rowsRemoved ?? {}).reduce((a, b) => a + b, 0)} files=${row.filesRewritten}`,
          );
        }
        return 0;
      }
      default:
        console.error(USAGE);
        throw new LoaderError(
          'SLUICE_ERR_PRIVACY_INVALID_REQUEST',
          `unknown command ${JSON.stringify(command)}`,
        );
    }
  } finally {
    await warehouse.close();
  }
}

runCli(main);
