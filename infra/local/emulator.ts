import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { type Child, startChild } from './child-process.ts';
import { LocalError } from './errors.ts';
import { freePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';
import { which } from './which.ts';

export interface EmulatorOptions {
  project: string;
  /** Environment of the gcloud process (PATH must reach gcloud and java). */
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  /** Emulator data directory (a fresh one per stack). */
  dataDir: string;
  startTimeoutMs?: number;
  /** Default: a free loopback port. */
  port?: number;
}

export interface Emulator {
  /** `127.0.0.1:<port>`: the value of PUBSUB_EMULATOR_HOST for clients. */
  host: string;
  child: Child;
  stop(): Promise<void>;
}

/**
 * The path of `gcloud`, after checking that `gcloud` and `java` are on `env.PATH`; throws
 * SLUICE_ERR_LOCAL_GCLOUD_MISSING / SLUICE_ERR_LOCAL_JAVA_MISSING (one line each, saying what to install) otherwise.
 */
export function requireEmulatorTools(env: Record<string, string>): string {
  const gcloud = which('gcloud', env.PATH);
  if (!gcloud) {
    throw new LocalError(
      'SLUICE_ERR_LOCAL_GCLOUD_MISSING',
      '--pubsub needs the Pub/Sub emulator, and gcloud is not on PATH: install the Google Cloud CLI with' +
        ' `gcloud components install pubsub-emulator beta` (or apt google-cloud-cli-pubsub-emulator), or drop' +
        ' --pubsub (the default spool mode needs no emulator).',
    );
  }
  if (!which('java', env.PATH)) {
    throw new LocalError(
      'SLUICE_ERR_LOCAL_JAVA_MISSING',
      '--pubsub needs the Pub/Sub emulator, which needs a JRE 11+, and java is not on PATH (e.g. apt-get install' +
        ' default-jre-headless), or drop --pubsub (the default spool mode needs no emulator).',
    );
  }
  return gcloud;
}

/**
 * Starts gcloud's Pub/Sub emulator on a free loopback port and waits until it answers HTTP.
 * gcloud forks a Java process; the child runs in its own process group so `stop()` ends both.
 */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const gcloud = requireEmulatorTools(options.env);
  mkdirSync(options.dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const child = startChild({
    name: 'emulator',
    command: gcloud,
    args: [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=${host}`,
      `--project=${options.project}`,
      `--data-dir=${options.dataDir}`,
      '--quiet',
    ],
    env: { ...options.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
    cwd: options.cwd,
    logFile: options.logFile,
  });
  try {
    await waitFor(
      async () => {
        const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        return response.ok ? true : undefined;
      },
      {
        what: `Pub/Sub emulator on ${host}`,
        timeoutMs: options.startTimeoutMs ?? 60_000,
        intervalMs: 200,
        abandon: () => child.exitReason(),
      },
    );
  } catch (cause) {
    await child.stop(2000).catch(() => undefined);
    throw new LocalError(
      'SLUICE_ERR_LOCAL_EMULATOR_START',
      `Pub/Sub emulator did not start (log: ${options.logFile}):\n${child.tail()}`,
      { cause },
    );
  }
  return { host, child, stop: () => child.stop() };
}

export interface TopologyNames {
  project: string;
  topic: string;
  subscription: string;
}

/** A Pub/Sub client for the emulator at `host` (no credentials, no metadata-server probe). */
export function emulatorClient(host: string, project: string): PubSub {
  return new PubSub({
    projectId: project,
    apiEndpoint: host,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  });
}

/** Whether the stand-in's subscription exists on the emulator at `host` (it cannot exist without its topic). */
export async function subscriptionExists(host: string, names: TopologyNames): Promise<boolean> {
  const client = emulatorClient(host, names.project);
  try {
    const [exists] = await client.subscription(names.subscription).exists();
    return exists;
  } finally {
    await client.close();
  }
}

/** Creates the topic and the stand-in's pull subscription on the emulator at `host` (idempotent). */
export async function createTopicAndSubscription(host: string, names: TopologyNames): Promise<void> {
  const client = emulatorClient(host, names.project);
  try {
    const topic = client.topic(names.topic);
    const [topicExists] = await topic.exists();
    if (!topicExists) await topic.create();
    const subscription = topic.subscription(names.subscription);
    const [subscriptionExists] = await subscription.exists();
    if (!subscriptionExists) await subscription.create({ ackDeadlineSeconds: 60 });
  } finally {
    await client.close();
  }
}

export const emulatorDataDir = (root: string): string => join(root, 'pubsub-emulator');
