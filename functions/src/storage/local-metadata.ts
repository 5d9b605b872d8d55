import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Custom object metadata for the local buckets directory, which files alone cannot carry: a sidecar JSON file
 * `<bucketsDir>/.<bucket>.metadata/<name>.json` = `{ "generation": "<mtime-ns>", "metadata": { ... } }` (beside the
 * `.<bucket>.staging` directories of infra/local; a name starting with `.` is no bucket). It belongs to ONE
 * generation: a reader uses it only while the file's generation is the one it names, so a file replaced later
 * (a new mtime) has no metadata until a writer gives it some, exactly as a new GCS generation starts without the
 * old one's metadata.
 *
 * Atomic with the object: the writer stats its temp file first (rename keeps the mtime, so that is the new
 * generation), writes the sidecar naming it (temp + rename), then renames the object into place. A crash before
 * the object's rename leaves a sidecar naming a generation that never became live (ignored); after it, both.
 */
export function sidecarPath(bucketsDir: string, bucket: string, name: string): string {
  return path.join(bucketsDir, `.${bucket}.metadata`, ...`${name}.json`.split('/'));
}

export async function writeSidecar(
  bucketsDir: string,
  bucket: string,
  name: string,
  generation: string,
  metadata: Readonly<Record<string, string>>,
): Promise<void> {
  const file = sidecarPath(bucketsDir, bucket, name);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  await writeFile(tmp, JSON.stringify({ generation, metadata }));
  try {
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The metadata of `generation` of the object, if its sidecar names that generation. */
export async function readSidecar(
  bucketsDir: string,
  bucket: string,
  name: string,
  generation: string,
): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await readFile(sidecarPath(bucketsDir, bucket, name), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const p = parsed as { generation?: unknown; metadata?: unknown } | null;
  if (p?.generation !== generation || typeof p.metadata !== 'object' || p.metadata === null) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata)) if (typeof v === 'string') out[k] = v;
  return out;
}
