/**
 * Seam 4 — raw window files, named and written exactly as a Pub/Sub Cloud Storage subscription does in text mode:
 * object name `<prefix><datetime>_<uuid><suffix>`, content = each message's data followed by `\n`, no attributes.
 * Shared by the storage-subscription stand-in (infra/local), the spool transport (publisher) and replay (functions).
 */

/** Default datetime format: one folder per UTC day, as the GCP stack configures the subscription. */
export const DEFAULT_DATETIME_FORMAT = 'YYYY-MM-DD/hh_mm_ssZ';

export interface RawObjectNaming {
  /** e.g. `raw/` */
  prefix: string;
  /** e.g. `.ndjson` */
  suffix: string;
  /** Cloud Storage subscription datetime format: `YYYY`, `MM`, `DD`, `hh`, `mm`, `ss`, `Z` (as `+00:00`), literals. */
  datetimeFormat: string;
}

export const DEFAULT_RAW_NAMING: RawObjectNaming = {
  prefix: 'raw/',
  suffix: '.ndjson',
  datetimeFormat: DEFAULT_DATETIME_FORMAT,
};

const TOKEN = /YYYY|MM|DD|hh|mm|ss|Z/g;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Formats a UTC instant with a Cloud Storage subscription datetime format. */
export function formatDatetime(format: string, at: Date): string {
  return format.replace(TOKEN, (token) => {
    switch (token) {
      case 'YYYY':
        return pad(at.getUTCFullYear(), 4);
      case 'MM':
        return pad(at.getUTCMonth() + 1);
      case 'DD':
        return pad(at.getUTCDate());
      case 'hh':
        return pad(at.getUTCHours());
      case 'mm':
        return pad(at.getUTCMinutes());
      case 'ss':
        return pad(at.getUTCSeconds());
      default:
        return '+00:00';
    }
  });
}

/** The object name for a window file that starts at `at`. `unique` is a UUID (crypto.randomUUID()). */
export function rawObjectName(naming: RawObjectNaming, at: Date, unique: string): string {
  return `${naming.prefix}${formatDatetime(naming.datetimeFormat, at)}_${unique}${naming.suffix}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Recovers the window start (UTC) from an object name produced by `rawObjectName` with the same naming,
 * or `undefined` when the name does not match (a foreign object in the bucket). Used to select files by date.
 */
export function parseRawObjectTime(naming: RawObjectNaming, name: string): Date | undefined {
  const groups: string[] = [];
  let pattern = '';
  let last = 0;
  for (const match of naming.datetimeFormat.matchAll(TOKEN)) {
    pattern += escapeRegExp(naming.datetimeFormat.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[0] === 'Z') {
      pattern += '\\+00:00';
      continue;
    }
    groups.push(match[0]);
    pattern += match[0] === 'YYYY' ? '(\\d{4})' : '(\\d{2})';
  }
  pattern += escapeRegExp(naming.datetimeFormat.slice(last));
  const re = new RegExp(
    `^${escapeRegExp(naming.prefix)}${pattern}_[0-9a-fA-F-]{8,}${escapeRegExp(naming.suffix)}$`,
  );
  const m = re.exec(name);
  if (!m) return undefined;
  const part = (token: string): number => {
    const i = groups.indexOf(token);
    return i < 0 ? 0 : Number(m[i + 1]);
  };
  const ms = Date.UTC(part('YYYY'), part('MM') - 1, part('DD') || 1, part('hh'), part('mm'), part('ss'));
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** Encodes one message's data as a raw-file line. Data must be a single line of JSON (the Pub/Sub contract). */
export function rawLine(data: string): string {
  return `${data}\n`;
}
