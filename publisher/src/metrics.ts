/** Latency buckets (seconds) for the publish histogram. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function label(name: string, value: string): string {
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function increment<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * The collector's counters, rendered as Prometheus text exposition format (no dependency). Counters are kept by
 * raw label value (cheap on the request path); label text is built at render time.
 */
export class Metrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly accepted = new Map<string, number>();
  private readonly rejected = new Map<string, number>();
  private readonly publishBuckets = BUCKETS.map(() => 0);
  private publishCount = 0;
  private publishSum = 0;
  private publishFailures = 0;
  private readonly suppressed = new Map<string, number>();
  /** Read at render time: failed reads of the suppression list. */
  suppressionFailures: () => number = () => 0;
  /** Read at render time. */
  inflightBytes: () => number = () => 0;

  request(route: string, status: number): void {
    let byStatus = this.requests.get(route);
    if (!byStatus) {
      byStatus = new Map();
      this.requests.set(route, byStatus);
    }
    increment(byStatus, status);
  }

  eventAccepted(type: string): void {
    increment(this.accepted, type);
  }

  eventRejected(code: string): void {
    increment(this.rejected, code);
  }

  /** An event answered 200 and dropped because its person is suppressed (privacy). */
  eventSuppressed(type: string): void {
    increment(this.suppressed, type);
  }

  publish(seconds: number, ok: boolean): void {
    if (!ok) this.publishFailures++;
    this.publishCount++;
    this.publishSum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] ?? 0)) this.publishBuckets[i]!++;
  }

  render(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, values: Iterable<[labels: string, value: number]>): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [labels, value] of values) lines.push(`${name}{${labels}} ${value}`);
    };
    const requests: [string, number][] = [];
    for (const [route, byStatus] of this.requests) {
      for (const [status, n] of byStatus)
        requests.push([`${label('route', route)},${label('status', String(status))}`, n]);
    }
    const byLabel = (name: string, values: Map<string, number>): [string, number][] =>
      [...values].map(([value, n]) => [label(name, value), n]);
    counter('sluice_http_requests_total', 'HTTP requests by route and status.', requests);
    counter(
      'sluice_events_accepted_total',
      'Events accepted (published) by type.',
      byLabel('type', this.accepted),
    );
    counter(
      'sluice_events_rejected_total',
      'Events or requests rejected, by error code.',
      byLabel('code', this.rejected),
    );
    counter(
      'sluice_events_suppressed_total',
      'Events answered 200 and dropped because their person is suppressed, by type.',
      byLabel('type', this.suppressed),
    );
    lines.push(
      '# HELP sluice_suppression_read_failures_total Failed reads of the suppression list (the previous list is kept).',
      '# TYPE sluice_suppression_read_failures_total counter',
      `sluice_suppression_read_failures_total ${this.suppressionFailures()}`,
      '# HELP sluice_publish_duration_seconds Time for the broker to accept a request’s events.',
      '# TYPE sluice_publish_duration_seconds histogram',
    );
    BUCKETS.forEach((b, i) => {
      lines.push(`sluice_publish_duration_seconds_bucket{le="${b}"} ${this.publishBuckets[i]}`);
    });
    lines.push(
      `sluice_publish_duration_seconds_bucket{le="+Inf"} ${this.publishCount}`,
      `sluice_publish_duration_seconds_sum ${this.publishSum}`,
      `sluice_publish_duration_seconds_count ${this.publishCount}`,
      '# HELP sluice_publish_failures_total Publishes that failed or timed out.',
      '# TYPE sluice_publish_failures_total counter',
      `sluice_publish_failures_total ${this.publishFailures}`,
      '# HELP sluice_inflight_bytes Bytes handed to the broker and not yet acknowledged.',
      '# TYPE sluice_inflight_bytes gauge',
      `sluice_inflight_bytes ${this.inflightBytes()}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
