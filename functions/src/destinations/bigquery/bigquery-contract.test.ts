import { describeDestinationContract } from '../../../test/destination-contract.ts';
import { fakeBigQueryDestination } from '../../../test/fakes/fake-bigquery-destination.ts';
import { startFakeGcp } from '../../../test/fakes/fake-gcp-server.ts';

/** REST `f/v` cells -> plain values by BigQuery type (the harness's own reader; SQL is not part of the contract). */
function decode(type: string, value: string | null): unknown {
  if (value === null) return null;
  switch (type) {
    case 'BOOL':
      return value === 'true';
    case 'INT64': {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    }
    case 'FLOAT64':
      return Number(value);
    case 'TIMESTAMP':
      return new Date(Number(BigInt(value) / 1000n)).toISOString();
    default:
      return value;
  }
}

describeDestinationContract('bigquery (HTTP fake)', async () => {
  const fake = await startFakeGcp({ project: 'contract' });
  return {
    destination: () => fakeBigQueryDestination(fake),
    async readTable(table) {
      const out = await fake.bigquery.engine.query(`SELECT * FROM \`contract.sluice.${table}\``, {});
      return out.rows.map((r) =>
        Object.fromEntries(r.f.map((c, i) => [out.schema[i]!.name, decode(out.schema[i]!.type, c.v)])),
      );
    },
    cleanup: () => fake.close(),
  };
});
