import type { BigQueryContext } from '../destinations/bigquery/bigquery-context.ts';
import type { StateCell } from './upkeep.ts';

const status = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
};

/**
 * The scheduled update's state on GCP: one object in the staging bucket (`<prefix>identity/update-state.json`),
 * written with a generation precondition. "ifGenerationMatch=0: the request succeeds only if there are no live
 * versions of the object"; any other value must equal the live generation, else 412 Precondition Failed
 * (https://cloud.google.com/storage/docs/request-preconditions, and the JSON API's objects.insert
 * `ifGenerationMatch`). Of two runs that read one generation, exactly one write succeeds: the lease.
 */
export function bigQueryStateCell(ctx: BigQueryContext): StateCell {
  const name = `${ctx.settings.stagingPrefix ?? ''}identity/${ctx.settings.datasetId}/update-state.json`;
  const bucket = ctx.storage.bucket(ctx.settings.stagingBucket);
  return {
    async read() {
      for (;;) {
        let generation: string;
        try {
          const [metadata] = await bucket.file(name).getMetadata();
          generation = String(metadata.generation);
        } catch (error) {
          if (status(error) === 404) return undefined;
          throw error;
        }
        try {
          const [body] = await bucket.file(name, { generation }).download();
          return { text: body.toString('utf8'), version: generation };
        } catch (error) {
          // Replaced between the two calls: read the new generation.
          if (status(error) !== 404) throw error;
        }
      }
    },
    async write(text, ifVersion) {
      const file = bucket.file(name);
      try {
        await file.save(text, {
          resumable: false,
          contentType: 'application/json',
          preconditionOpts: { ifGenerationMatch: Number(ifVersion) },
        });
      } catch (error) {
        if (status(error) === 412) return undefined;
        throw error;
      }
      return String(file.metadata.generation);
    },
  };
}
