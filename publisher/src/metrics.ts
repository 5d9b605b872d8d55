/** Latency buckets (seconds) for the publish histogram. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');
}

/** The collector's counters, rendered as Prometheus text exposition format (no dependency). */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly accepted = new Map<string, number>();
  private readonly rejected = new Map<string, number>();
  private readonly publishBuckets = BUCKETS.map(() => 0);
  private publishCount = 0;
  private publishSum = 0;
  private publishFailures = 0;
  /** Read at render time. */
  inflightBytes: () => number = () => 0;

  request(route: string, status: number): void {
    const k = key({ route, status: String(status) });
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
  }

  eventAccepted(type: string, n = 1): void {
    const k = key({ type });
    this.accepted.set(k, (this.accepted.get(k) ?? 0) + n);
  }

  eventRejected(code: string, n = 1): void {
    const k = key({ code });
    this.rejected.set(k, (this.rejected.get(k) ?? 0) + n);
  }

  publish(seconds: number, ok: boolean): void {
    if (!ok) this.publishFailures++;
    this.publishCount++;
    this.publishSum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] ?? 0)) this.publishBuckets[i]!++;
  }

  render(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, values: Map<string, number>): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [k, v] of values) lines.push(`${name}{${k}} ${v}`);
    };
    counter('sluice_http_requests_total', 'HTTP requests by route and status.', this.requests);
    counter('sluice_events_accepted_total', 'Events accepted (published) by type.', this.accepted);
    counter('sluice_events_rejected_total', 'Events or requests rejected, by error code.', this.rejected);
    lines.push(
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
