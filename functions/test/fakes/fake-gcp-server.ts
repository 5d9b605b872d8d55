import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeBigQuery } from './fake-bigquery.ts';
import { FakeBigQueryEngine } from './fake-bigquery-engine.ts';
import { FaultPlan } from './fake-faults.ts';
import { FakeGcs } from './fake-gcs.ts';
import { apiError, flatHeaders, parseJsonBody, type RecordedRequest, readBody, send } from './fake-http.ts';

export interface FakeGcp {
  /** `http://127.0.0.1:<port>`: give it to BigQuery as `apiEndpoint` and to Storage as `apiEndpoint`. */
  url: string;
  project: string;
  /** Every request, in arrival order (including faulted ones). */
  requests: RecordedRequest[];
  faults: FaultPlan;
  bigquery: FakeBigQuery;
  gcs: FakeGcs;
  /** Requests to BigQuery `jobs.insert`, with their bodies (job configurations). */
  jobInserts(): { jobId: string; configuration: Record<string, unknown>; status: number }[];
  close(): Promise<void>;
}

/** Starts the HTTP-level fake of the BigQuery v2 and Cloud Storage JSON APIs on 127.0.0.1:0. */
export async function startFakeGcp(options: { project?: string } = {}): Promise<FakeGcp> {
  const project = options.project ?? 'fake-project';
  const gcs = new FakeGcs();
  const engine = new FakeBigQueryEngine();
  const bigquery = new FakeBigQuery(project, engine, gcs);
  const faults = new FaultPlan();
  const requests: RecordedRequest[] = [];
  // One request at a time, like a strongly consistent backend: keeps DuckDB access serial.
  let queue: Promise<void> = Promise.resolve();

  const server: Server = createServer((req, res) => {
    const job = queue.then(async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://fake');
      const headers = flatHeaders(req);
      const query = Object.fromEntries(url.searchParams);
      // With STORAGE_EMULATOR_HOST set, the Storage client uses that value as its JSON API base (no
      // `/storage/v1`), as emulators such as fake-gcs-server accept; normalise to one form.
      const path = url.pathname.startsWith('/b/') ? `/storage/v1${url.pathname}` : url.pathname;
      const service: RecordedRequest['service'] = path.startsWith('/bigquery/')
        ? 'bigquery'
        : path.includes('/storage/v1/')
          ? 'gcs'
          : 'other';
      const record: RecordedRequest = {
        service,
        method: req.method ?? 'GET',
        path,
        query,
        headers,
        body: parseJsonBody(headers, raw),
        rawBody: raw,
        status: 0,
      };
      requests.push(record);
      const fault = faults.take({ method: record.method, path, query, body: record.body, rawBody: raw });
      if (fault?.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'respond') {
        record.status = fault.response.status;
        send(res, fault.response);
        return;
      }
      const response =
        service === 'bigquery'
          ? await bigquery.handle(record.method, path, query, record.body)
          : service === 'gcs'
            ? gcs.handle(record.method, path, query, headers, raw)
            : apiError(404, 'notFound', `fake GCP: unknown path ${path}`);
      if (fault?.kind === 'drop-after') {
        req.socket.destroy();
        return;
      }
      record.status = response.status;
      send(res, response);
    });
    queue = job.catch((error: unknown) => {
      if (!res.headersSent) send(res, apiError(500, 'internalError', `fake GCP crashed: ${String(error)}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    project,
    requests,
    faults,
    bigquery,
    gcs,
    jobInserts() {
      return requests
        .filter((r) => r.service === 'bigquery' && r.method === 'POST' && /\/jobs$/.test(r.path))
        .map((r) => {
          const body = (r.body ?? {}) as {
            jobReference?: { jobId?: string };
            configuration?: Record<string, unknown>;
          };
          return {
            jobId: body.jobReference?.jobId ?? '',
            configuration: body.configuration ?? {},
            status: r.status,
          };
        });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      engine.close();
    },
  };
}
