import type { LocalTransport } from '../config.ts';

/**
 * The transport a CLI runs: `--pubsub` (the GCP topology: emulator + stand-in) or `--spool` (the durable default)
 * on the command line, else `SLUICE_TRANSPORT` (already in `fallback`).
 */
export function transportFlag(args: readonly string[], fallback: LocalTransport): LocalTransport {
  if (args.includes('--pubsub')) return 'pubsub';
  if (args.includes('--spool')) return 'spool';
  return fallback;
}

/** One line for a spool-mode start: what the Pub/Sub topology would add, and how to get it. */
export const SPOOL_NOTE =
  'Spool mode (default, durable: each batch is fsynced before 200). `--pubsub` runs the GCP topology instead' +
  " (Pub/Sub emulator + storage-subscription stand-in; needs gcloud's pubsub-emulator and Java; keeps nothing on disk).";
