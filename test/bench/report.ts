// The one bench report: every suite returns figures (value, same-run baseline, target, rounds); this file prints
// them as one table, writes bench/results.json and compares two result files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export interface Target {
  /** `value` compares the figure's value, `ratio` its ratio to the baseline. */
  of: 'value' | 'ratio';
  op: '>=' | '<=';
  limit: number;
}

export interface Figure {
  /** Stable key (`suite.name`), read by `npm run cost` and by `--compare`. */
  id: string;
  label: string;
  unit: string;
  /** The reported value: the median of `rounds` (one round: that round). */
  value: number;
  /** Every round's value, so the spread is visible. */
  rounds: number[];
  baseline?: { label: string; value: number };
  target?: Target;
  note?: string;
}

export interface SuiteOptions {
  /** Prove the harness works: tiny inputs, one short round, no verdict on timings. */
  quick: boolean;
}

export interface SuiteResult {
  figures: Figure[];
  /** False when a functional check failed (always) or a target was missed (full mode only). */
  ok: boolean;
}

export interface Results {
  version: 1;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  commit: string;
  machine: {
    cpus: number;
    cpuModel: string;
    totalMemGiB: number;
    node: string;
    platform: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  suites: { name: string; ok: boolean; seconds: number; error?: string }[];
  figures: Figure[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A figure from its rounds (value = median). */
export function figure(f: Omit<Figure, 'value'> & { value?: number }): Figure {
  return { ...f, value: f.value ?? median(f.rounds) };
}

export function ratioOf(f: Figure): number | undefined {
  return f.baseline && f.baseline.value !== 0 ? f.value / f.baseline.value : undefined;
}

export function meets(f: Figure): boolean | undefined {
  if (!f.target) return undefined;
  const v = f.target.of === 'ratio' ? ratioOf(f) : f.value;
  if (v === undefined || !Number.isFinite(v)) return false;
  return f.target.op === '>=' ? v >= f.target.limit : v <= f.target.limit;
}

/** Relative spread of the rounds: (max - min) / median. */
export function spreadOf(f: Figure): number | undefined {
  if (f.rounds.length < 2) return undefined;
  const m = median(f.rounds);
  return m === 0 ? 0 : (Math.max(...f.rounds) - Math.min(...f.rounds)) / Math.abs(m);
}

export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(3);
}

function targetText(t: Target | undefined): string {
  if (!t) return '';
  return `${t.of === 'ratio' ? 'ratio ' : ''}${t.op} ${num(t.limit)}`;
}

/** The table: figure, value, baseline, ratio, target (and verdict), spread over rounds. */
export function formatTable(figures: readonly Figure[], quick: boolean): string {
  const header = ['figure', 'value', 'same-run baseline', 'ratio', 'target', 'spread (rounds)'];
  const rows = figures.map((f) => {
    const ratio = ratioOf(f);
    const verdict = meets(f);
    const spread = spreadOf(f);
    return [
      f.label,
      `${num(f.value)} ${f.unit}`,
      f.baseline ? `${num(f.baseline.value)} (${f.baseline.label})` : '',
      ratio === undefined ? '' : ratio.toFixed(2),
      f.target ? `${targetText(f.target)} ${quick ? '(quick: not judged)' : verdict ? 'PASS' : 'MISS'}` : '',
      spread === undefined
        ? `1 round`
        : `±${((spread * 100) / 2).toFixed(0)}% (${num(Math.min(...f.rounds))}..${num(Math.max(...f.rounds))}, n=${f.rounds.length})`,
    ];
  });
  const widths = header.map((h, i) =>
    Math.min(70, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))),
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** Figures of `old` and `now` side by side (same id), with the change. */
export function formatCompare(old: Results, now: Results): string {
  const before = new Map(old.figures.map((f) => [f.id, f]));
  const lines = [`compare: ${old.commit} (${old.startedAt}) -> ${now.commit} (${now.startedAt})`];
  for (const f of now.figures) {
    const o = before.get(f.id);
    if (!o) {
      lines.push(`  ${f.label}: ${num(f.value)} ${f.unit} (new)`);
      continue;
    }
    const change = o.value === 0 ? 0 : (f.value - o.value) / Math.abs(o.value);
    const noise = Math.max(spreadOf(f) ?? 0, spreadOf(o) ?? 0) / 2;
    const within = Math.abs(change) <= noise ? ' (within the spread)' : '';
    lines.push(
      `  ${f.label}: ${num(o.value)} -> ${num(f.value)} ${f.unit} (${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%)${within}`,
    );
  }
  for (const o of old.figures) if (!now.figures.some((f) => f.id === o.id)) lines.push(`  ${o.label}: gone`);
  return lines.join('\n');
}

export function readResults(file: string): Results {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Results;
  if (parsed.version !== 1 || !Array.isArray(parsed.figures))
    throw new Error(`${file}: not a bench results file`);
  return parsed;
}

export function machine(): Omit<Results['machine'], 'loadAverageAtEnd'> {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    totalMemGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function gitCommit(cwd: string): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}
