// The monthly cost model behind `npm run cost`: measured figures (bench/results.json) x list prices (prices.json),
// plus the dated assumptions prices.json lists as such. Pure: no I/O, so tests can hold it to hand-computed cases.
import PRICES from './prices.json' with { type: 'json' };

export type Prices = typeof PRICES;

/** The measured figures the model needs (ids of bench/results.json figures). */
export const NEEDED = [
  'traffic.browser.publishedBytesPerEvent',
  'traffic.server.publishedBytesPerEvent',
  'collector.track.cpuSecondsPer1000Events',
  'collector.batch.cpuSecondsPer1000Events',
  'collector.track.latencyMsAlone',
  'loader.smallFile.cpuSeconds',
  'loader.fullLoad.cpuSecondsPerEvent',
  'bigquery.perFile.bytesBilled',
  'bigquery.identityUpdate.bytesBilled',
] as const;
export type Measured = Record<(typeof NEEDED)[number], number> & {
  /** users -> MB billed per users refresh (at least one point). */
  usersRefreshMb: Map<number, number>;
};

export interface Params {
  mtu: number;
  eventsPerUser: number;
  retentionDays: number;
  windowSeconds: number;
  usersUpsert: 'hourly' | 'daily' | 'per-file';
}

export interface Line {
  group: 'pubsub' | 'collector' | 'loader' | 'bigquery' | 'storage';
  item: string;
  usd: number;
  /** After the monthly free tier (each product's tier applied to its lines in order). */
  usdAfterFree: number;
  detail: string;
}

export const BUDGETS: Record<Line['group'], number> = {
  pubsub: 0.15,
  collector: 0.4,
  loader: 0.4,
  bigquery: 0.85,
  storage: 0.2,
};

const MONTH_S = 30 * 86_400;
const TIB = 1024 ** 4;
const GIB = 1024 ** 3;
const GB = 1e9;

/** Interpolates MB per users refresh at `users` from measured points (linear between, min 10 MB per table x 2). */
export function usersRefreshMbAt(points: Map<number, number>, users: number): number {
  const sorted = [...points.entries()].sort((a, b) => a[0] - b[0]);
  if (sorted.length === 0) return Number.NaN;
  const [lo, hi] = [sorted[0] as [number, number], sorted.at(-1) as [number, number]];
  if (sorted.length === 1 || users <= lo[0]) return Math.max(20, (lo[1] * users) / lo[0]);
  let a = lo;
  let b = hi;
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as [number, number])[0] >= users) {
      a = sorted[i - 1] as [number, number];
      b = sorted[i] as [number, number];
      break;
    }
  }
  const slope = (b[1] - a[1]) / (b[0] - a[0]);
  return Math.max(20, a[1] + slope * (users - a[0]));
}

/**
 * Busy seconds of one Cloud Run instance serving `requests` a month, each holding it `seconds`: requests arrive at
 * random (Poisson), so the instance is busy 1 - e^(-rate x seconds) of the time; never below the CPU they use.
 */
export function busySeconds(requests: number, seconds: number, cpuSeconds: number): number {
  const rate = requests / MONTH_S;
  return Math.max(MONTH_S * (1 - Math.exp(-rate * seconds)), cpuSeconds);
}

const roundUp = (s: number, g: number) => Math.ceil(s / g - 1e-9) * g;

export interface Estimate {
  lines: Line[];
  total: number;
  totalAfterFree: number;
  collectorOnePerEvent: { usd: number; detail: string };
  alternatives: { name: string; usd: number; detail: string; lacks: string }[];
  segment: { low: number; high: number };
  facts: {
    events: number;
    bytesPerEvent: number;
    requests: number;
    files: number;
    perFileEvents: number;
    cpuPerFile: number;
    refreshMb: number;
  };
}

export function estimate(m: Measured, p: Params, prices: Prices = PRICES): Estimate {
  const P = prices.prices;
  const A = prices.assumptions;
  const events = p.mtu * p.eventsPerUser;
  const share = A.browserShare.value;
  const bytesPerEvent =
    share * m['traffic.browser.publishedBytesPerEvent'] +
    (1 - share) * m['traffic.server.publishedBytesPerEvent'];
  const minBytes = P.pubsubMinBytesPerRequest.value;

  // Collector requests with SDK batching; one Pub/Sub publish request per collector request.
  const perReq = (k: number) => Math.max(minBytes, k * bytesPerEvent);
  const kB = A.browserEventsPerRequest.value;
  const kS = A.serverEventsPerRequest.value;
  const reqB = (events * share) / kB;
  const reqS = (events * (1 - share)) / kS;
  const requests = reqB + reqS;
  const publishBytes = reqB * perReq(kB) + reqS * perReq(kS);
  const exportBytes = events * bytesPerEvent;
  const lines: Line[] = [];
  const freePubsub = { left: P.pubsubFreeGiBPerMonth.value * GIB };
  const pubsubLine = (item: string, bytes: number, perTiB: number, detail: string) => {
    const free = Math.min(freePubsub.left, bytes);
    freePubsub.left -= free;
    lines.push({
      group: 'pubsub',
      item,
      usd: (bytes / TIB) * perTiB,
      usdAfterFree: ((bytes - free) / TIB) * perTiB,
      detail,
    });
  };
  pubsubLine(
    'Pub/Sub publish',
    publishBytes,
    P.pubsubThroughputPerTiB.usd,
    `${(publishBytes / GIB).toFixed(2)} GiB billed (${bytesPerEvent.toFixed(0)} B/event measured, ${minBytes} B minimum per request)`,
  );
  pubsubLine(
    'Cloud Storage subscription',
    exportBytes,
    P.pubsubExportSubscriptionPerTiB.usd,
    `${(exportBytes / GIB).toFixed(2)} GiB delivered`,
  );

  // Collector on Cloud Run: 1 vCPU, 0.5 GiB (infra/gcp defaults); per-request CPU = a + b x events (measured).
  const c1 = m['collector.track.cpuSecondsPer1000Events'] / 1000;
  const c100 = (m['collector.batch.cpuSecondsPer1000Events'] / 1000) * 100;
  const b = Math.max(0, (c100 - c1) / 99);
  const a = Math.max(0, c1 - b);
  const gran = P.cloudRunBillingGranularitySeconds.value;
  const collectorCost = (reqsByK: [number, number][]) => {
    let reqs = 0;
    let cpu = 0;
    let busy = 0;
    for (const [r, k] of reqsByK) {
      const held = roundUp(
        a + b * k + (m['collector.track.latencyMsAlone'] + A.pubsubPublishWaitMs.value) / 1000,
        gran,
      );
      reqs += r;
      cpu += r * (a + b * k);
      busy += busySeconds(r, held, r * (a + b * k));
    }
    const usd =
      busy * P.cloudRunVcpuSecond.usd +
      busy * 0.5 * P.cloudRunGibSecond.usd +
      (reqs / 1e6) * P.cloudRunPerMillionRequests.usd;
    return { reqs, cpu, busy, usd };
  };
  const col = collectorCost([
    [reqB, kB],
    [reqS, kS],
  ]);
  const free = P.cloudRunFree.value;
  const runFree = { vcpu: free.vcpuSeconds, gib: free.gibSeconds, req: free.requests };
  const cloudRunAfterFree = (busy: number, gib: number, reqs: number) => {
    const v = Math.max(0, busy - runFree.vcpu);
    const g = Math.max(0, busy * gib - runFree.gib);
    const r = Math.max(0, reqs - runFree.req);
    runFree.vcpu = Math.max(0, runFree.vcpu - busy);
    runFree.gib = Math.max(0, runFree.gib - busy * gib);
    runFree.req = Math.max(0, runFree.req - reqs);
    return (
      v * P.cloudRunVcpuSecond.usd +
      g * P.cloudRunGibSecond.usd +
      (r / 1e6) * P.cloudRunPerMillionRequests.usd
    );
  };
  lines.push({
    group: 'collector',
    item: 'collector (Cloud Run)',
    usd: col.usd,
    usdAfterFree: cloudRunAfterFree(col.busy, 0.5, col.reqs),
    detail: `${Math.round(col.reqs).toLocaleString('en-US')} requests (${(1000 / (events / col.reqs)).toFixed(0)} per 1,000 events), ${Math.round(col.busy).toLocaleString('en-US')} billed instance-s, ${col.cpu.toFixed(0)} CPU-s measured`,
  });
  const segmentStyle = collectorCost([
    [events * share, 1],
    [reqS, kS],
  ]);

  // Loader: one invocation per window file; CPU measured (DuckDB path), BigQuery waits assumed. 1 vCPU, 1 GiB.
  const files = events > 0 ? MONTH_S / p.windowSeconds : 0;
  const perFileEvents = events / Math.max(files, 1);
  const cpuPerFile =
    m['loader.smallFile.cpuSeconds'] +
    Math.max(0, perFileEvents - 350) * m['loader.fullLoad.cpuSecondsPerEvent'];
  const heldPerFile = roundUp(cpuPerFile + A.bigqueryJobWaitSecondsPerFile.value, gran);
  const loaderBusy = files * heldPerFile;
  lines.push({
    group: 'loader',
    item: 'loader (Cloud Run function)',
    usd:
      loaderBusy * P.cloudRunVcpuSecond.usd +
      loaderBusy * 1 * P.cloudRunGibSecond.usd +
      (files / 1e6) * P.cloudRunPerMillionRequests.usd,
    usdAfterFree: cloudRunAfterFree(loaderBusy, 1, files),
    detail: `${Math.round(files).toLocaleString('en-US')} files of ~${Math.round(perFileEvents)} events, ${cpuPerFile.toFixed(2)} CPU-s measured + ${A.bigqueryJobWaitSecondsPerFile.value} s BigQuery waits (assumed) each`,
  });

  // BigQuery queries: per-file claim (dedup + loads row) measured on the strict fake; users upkeep.
  const q = { left: P.bigqueryFreeQueryTiB.value * TIB };
  const queryLine = (item: string, bytes: number, detail: string) => {
    const f = Math.min(q.left, bytes);
    q.left -= f;
    const per = P.bigqueryOnDemandPerTiB.usd;
    lines.push({
      group: 'bigquery',
      item,
      usd: (bytes / TIB) * per,
      usdAfterFree: ((bytes - f) / TIB) * per,
      detail,
    });
  };
  const MB = 1024 * 1024;
  queryLine(
    'BigQuery per-file commits (claim MERGE, de-duplication, loads row)',
    files * m['bigquery.perFile.bytesBilled'] * MB,
    `${m['bigquery.perFile.bytesBilled'].toFixed(0)} MB billed per file (strict fake, ${A.eventTables.value} event tables) x ${Math.round(files)} files`,
  );
  const refreshes = p.usersUpsert === 'hourly' ? 720 : p.usersUpsert === 'daily' ? 30 : files;
  const users = p.mtu;
  const refreshMb = usersRefreshMbAt(m.usersRefreshMb, users);
  queryLine(
    `BigQuery users upkeep (${p.usersUpsert})`,
    refreshes * refreshMb * MB,
    `${refreshMb.toFixed(0)} MB per refresh at ${users.toLocaleString('en-US')} users x ${Math.round(refreshes)}`,
  );

  // Identity map, updated on a schedule on BigQuery (a per-file update bills ~110 MB per file on the strict fake,
  // over the 30 MB budget): each run bills the measured statements (10 MB minimum per table each) until the tables
  // outgrow that minimum; then the statements that scan identity_edges (the MERGE, one per fixpoint round) and
  // identity_map (members, components, the map transaction's deletes) bill their size. The log slice is pruned on
  // loaded_at (partitioned): an hour of links, below 10 MB at these volumes.
  const identityRunMeasured = m['bigquery.identityUpdate.bytesBilled'] * MB;
  const links = p.mtu * A.identityLinksPerUser.value;
  const edgesTableBytes = links * A.identityEdgeBytes.value;
  const mapTableBytes = links * 2 * A.identityMapRowBytes.value;
  const identityRunBytes = Math.max(identityRunMeasured, 2 * edgesTableBytes + 6 * mapTableBytes);
  queryLine(
    'BigQuery identity map update (scheduled)',
    A.identityUpdatesPerMonth.value * identityRunBytes,
    `${(identityRunBytes / MB).toFixed(0)} MB per run (measured ${(identityRunMeasured / MB).toFixed(0)} MB on the strict fake; identity_edges ${(edgesTableBytes / MB).toFixed(0)} MB, identity_map ${(mapTableBytes / MB).toFixed(0)} MB at ${A.identityLinksPerUser.value} links/user, assumed) x ${A.identityUpdatesPerMonth.value} runs`,
  );

  // Storage at steady state (month `retentionDays/30`): BigQuery active 90 days then long-term; raw files Standard
  // 30 days (infra/gcp coldAfterDays) then Coldline until deletion.
  const months = p.retentionDays / 30;
  const storedGiB = (events * bytesPerEvent * A.storedBytesPerEventFactor.value) / GIB;
  const activeGiB = storedGiB * Math.min(months, 3) + (p.mtu * 300) / GIB;
  const longGiB = storedGiB * Math.max(0, months - 3);
  const bqFree = P.bigqueryFreeStorageGiB.value;
  const bqUsd =
    activeGiB * P.bigqueryActiveStorageGiBMonth.usd + longGiB * P.bigqueryLongTermStorageGiBMonth.usd;
  const bqAfter =
    Math.max(0, activeGiB - bqFree) * P.bigqueryActiveStorageGiBMonth.usd +
    Math.max(0, longGiB - Math.max(0, bqFree - activeGiB)) * P.bigqueryLongTermStorageGiBMonth.usd;
  lines.push({
    group: 'storage',
    item: 'BigQuery storage (active + long-term)',
    usd: bqUsd,
    usdAfterFree: bqAfter,
    detail: `${activeGiB.toFixed(2)} GiB active, ${longGiB.toFixed(2)} GiB long-term after ${months.toFixed(0)} months`,
  });
  const rawGB = (events * bytesPerEvent) / GB;
  const stdGB = rawGB * Math.min(1, months);
  const coldGB = rawGB * Math.max(0, months - 1);
  const ops = (files * 2 * P.gcsClassAPer1000.usd) / 1000 + (files * P.gcsClassBPer1000.usd) / 1000;
  const gf = P.gcsFree.value;
  lines.push({
    group: 'storage',
    item: 'Cloud Storage raw files (Standard 30 d, then Coldline)',
    usd: stdGB * P.gcsStandardGbMonth.usd + coldGB * P.gcsColdlineGbMonth.usd + ops,
    usdAfterFree:
      Math.max(0, stdGB - gf.standardGb) * P.gcsStandardGbMonth.usd +
      coldGB * P.gcsColdlineGbMonth.usd +
      (Math.max(0, files * 2 - gf.classA) * P.gcsClassAPer1000.usd) / 1000 +
      (Math.max(0, files - gf.classB) * P.gcsClassBPer1000.usd) / 1000,
    detail: `${stdGB.toFixed(2)} GB Standard, ${coldGB.toFixed(2)} GB Coldline, ${Math.round(files * 3).toLocaleString('en-US')} operations`,
  });

  // Alternatives, at the same list prices.
  const fnVcpu = A.perEventFunctionVcpu.value;
  const fnHeld = 0.1;
  const fnUsd =
    events * fnHeld * (fnVcpu * P.cloudRunVcpuSecond.usd + 0.25 * P.cloudRunGibSecond.usd) +
    (events / 1e6) * P.cloudRunPerMillionRequests.usd +
    ((events * Math.max(minBytes, bytesPerEvent)) / TIB) * P.pubsubThroughputPerTiB.usd +
    ((events * bytesPerEvent) / GIB) * P.bigqueryStorageWriteApiPerGiB.usd;
  const pubsubPublish = lines[0]?.usd ?? 0;
  const storage = bqUsd;
  const alternatives = [
    {
      name: 'per-event Cloud Function (Pub/Sub push -> function -> Storage Write API)',
      usd: fnUsd + pubsubPublish + col.usd + storage,
      detail: `${events.toLocaleString('en-US')} invocations x >= 100 ms at ${fnVcpu} vCPU/256 MiB, a push (1,000 B minimum) and a write per event, plus the same collector, publish and storage`,
      lacks: 'no batching (a function instance-slice and a push per event); de-duplication only best effort',
    },
    {
      name: 'Pub/Sub BigQuery subscription into one raw table',
      usd:
        pubsubPublish +
        ((events * bytesPerEvent) / TIB) * P.pubsubExportSubscriptionPerTiB.usd +
        col.usd +
        storage,
      detail: `$50/TiB of ${(exportBytes / GIB).toFixed(2)} GiB, plus the same collector, publish and storage; no loader, no per-file queries`,
      lacks:
        'no de-duplication, no per-event tables or users table: every query parses the raw JSON (and pays for scanning it)',
    },
  ];
  const over = Math.max(0, p.mtu - P.segmentTeamBase.value) / 1000;
  const total = lines.reduce((s, l) => s + l.usd, 0);
  return {
    lines,
    total,
    totalAfterFree: lines.reduce((s, l) => s + l.usdAfterFree, 0),
    collectorOnePerEvent: {
      usd: segmentStyle.usd,
      detail: `Segment's analytics.js (one request per event): ${Math.round(segmentStyle.reqs).toLocaleString('en-US')} requests, ${Math.round(segmentStyle.busy).toLocaleString('en-US')} billed instance-s`,
    },
    alternatives,
    segment: {
      low: P.segmentTeamBase.usd + over * P.segmentPer1000MtuLow.usd,
      high: P.segmentTeamBase.usd + over * P.segmentPer1000MtuHigh.usd,
    },
    facts: { events, bytesPerEvent, requests, files, perFileEvents, cpuPerFile, refreshMb },
  };
}
