/**
 * The ledger of a chaos scenario: every messageId the collector acknowledged (its answer said the event was
 * accepted: a 200, or a 400 BATCH_PARTIAL for the indexes it did not reject), and every id it rejected.
 * The promise under test is about the acknowledged ids only; the rest may or may not reach the warehouse.
 */
export interface RejectedByCollector {
  id: string;
  status: number;
  code: string;
}

export interface Ledger {
  /** Records the outcome of one request carrying `ids` (in batch order). */
  record(ids: readonly string[], status: number, body: unknown): void;
  /** Ids acknowledged, each once, in acknowledgement order. */
  acknowledged(): string[];
  /** Ids the collector refused with a 4xx (never acknowledged later). */
  rejected(): RejectedByCollector[];
  /** Requests by answer (`200`, `400`, `503`, `network-error`, ...). */
  statuses(): Record<string, number>;
}

interface ErrorBody {
  code?: unknown;
  rejected?: unknown;
}

function rejectedIndexes(body: unknown): Set<number> | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const list = (body as ErrorBody).rejected;
  if (!Array.isArray(list)) return undefined;
  const out = new Set<number>();
  for (const r of list) {
    const index = (r as { index?: unknown } | null)?.index;
    if (typeof index === 'number') out.add(index);
  }
  return out;
}

export function createLedger(): Ledger {
  const acked = new Set<string>();
  const refused = new Map<string, RejectedByCollector>();
  const byStatus: Record<string, number> = {};
  return {
    record(ids, status, body) {
      const key = status === 0 ? 'network-error' : String(status);
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      if (status === 200) {
        for (const id of ids) {
          acked.add(id);
          refused.delete(id);
        }
        return;
      }
      if (status < 400 || status >= 500) return;
      const code = String((body as ErrorBody | null)?.code ?? '');
      // A partial batch published the indexes it did not list; any other 4xx published nothing.
      const indexes = code === 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL' ? rejectedIndexes(body) : undefined;
      ids.forEach((id, index) => {
        if (indexes && !indexes.has(index)) acked.add(id);
        else if (!acked.has(id)) refused.set(id, { id, status, code });
      });
    },
    acknowledged: () => [...acked],
    rejected: () => [...refused.values()],
    statuses: () => ({ ...byStatus }),
  };
}
