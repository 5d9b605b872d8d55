import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LOADER_BUNDLE_DIR,
  PackageError,
  packageCollector,
  packageLoader,
  packageName,
  REPO_ROOT,
} from './package-function.ts';
import { synthStacks, testConfig } from './synth-fixture.ts';

const temp = (name: string): string => mkdtempSync(join(tmpdir(), `sluice-${name}-`));

/**
 * Unzips a synthesized source archive into a fresh dir and gives it a node_modules holding ONLY the packages its
 * package.json declares (linked from the workspace), as `npm install` would: an undeclared import fails to load.
 */
function unpack(zip: string): {
  dir: string;
  manifest: { main: string; type: string; dependencies: Record<string, string> };
} {
  const dir = temp('unzipped');
  execFileSync('unzip', ['-q', zip, '-d', dir]);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const name of Object.keys(manifest.dependencies)) {
    const target = join(REPO_ROOT, 'node_modules', name);
    mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(target, join(dir, 'node_modules', name), 'dir');
  }
  return { dir, manifest };
}

/** Runs a script inside the unpacked dir with plain Node (no tsx, no workspace resolution). */
function runIn(dir: string, script: string, env: Record<string, string> = {}): Record<string, unknown> {
  writeFileSync(join(dir, 'check.mjs'), script);
  const res = spawnSync(process.execPath, ['check.mjs'], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 60_000,
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{'))
    throw new Error(`check failed (${res.status}): ${res.stderr}\n${res.stdout}`);
  return JSON.parse(line) as Record<string, unknown>;
}

const registers = (target: string): string => `
await import('./index.js');
const { getFunction } = await import('@google-cloud/functions-framework/testing');
console.log(JSON.stringify({ registered: typeof getFunction('${target}') === 'function' }));
`;

function archive(outdir: string, stack: string, id: string): string {
  const base = join(outdir, 'stacks', stack, 'assets', `${id}-asset`);
  const [hash] = readdirSync(base);
  return join(base, hash ?? '', 'archive.zip');
}

describe('package-function', () => {
  it('packageName keeps scopes and drops subpaths', () => {
    expect(packageName('@google-cloud/functions-framework/testing')).toBe(
      '@google-cloud/functions-framework',
    );
    expect(packageName('pino/file')).toBe('pino');
  });

  it('pins the external runtime packages at installed versions and leaves DuckDB (dynamic, local only) out', () => {
    const bundle = temp('bundle');
    writeFileSync(
      join(bundle, 'index.js'),
      [
        "import { cloudEvent } from '@google-cloud/functions-framework';",
        "import pino from 'pino';",
        "import { readFile } from 'node:fs/promises';",
        "export const duck = () => import('@duckdb/node-api');",
        "cloudEvent('loadEvents', async () => { pino(); await readFile; });",
      ].join('\n'),
    );
    const out = packageLoader(join(temp('pkg'), 'loader'), bundle);
    const manifest = JSON.parse(readFileSync(join(out.dir, 'package.json'), 'utf8'));
    const installed = (name: string) =>
      JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    expect(manifest).toMatchObject({ type: 'module', main: 'index.js' });
    expect(manifest.dependencies).toEqual({
      '@google-cloud/functions-framework': installed('@google-cloud/functions-framework'),
      pino: installed('pino'),
    });
  });

  it('fails with a clear error when the loader bundle was not built', () => {
    expect(() => packageLoader(join(temp('pkg'), 'loader'), join(temp('empty'), 'dist'))).toThrow(
      PackageError,
    );
  });
});

describe('collector source zip', () => {
  it('imports on plain Node with only its declared dependencies, registers `collect`, and serves the API', async () => {
    const collector = await packageCollector(join(temp('pkg'), 'collector'));
    const { outdir } = synthStacks([testConfig('prod')], {
      loaderDir: collector.dir,
      collectorDir: collector.dir,
    });
    const { dir, manifest } = unpack(archive(outdir, 'sluice-prod', 'collector'));
    expect(manifest).toMatchObject({ type: 'module', main: 'index.js' });
    expect(Object.keys(manifest.dependencies)).toContain('@google-cloud/pubsub');
    expect(runIn(dir, registers('collect'))).toEqual({ registered: true });
    expect(readFileSync(join(dir, 'project.toml'), 'utf8')).toContain('value = "collect"');
    expectNpmCiAccepts(dir);

    // Through functions-framework's own HTTP stack (body already parsed by it), with the spool transport.
    const data = temp('data');
    const result = runIn(
      dir,
      `
import { gzipSync } from 'node:zlib';
await import('./index.js');
const { getTestServer } = await import('@google-cloud/functions-framework/testing');
const server = getTestServer('collect');
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = 'http://127.0.0.1:' + server.address().port;
const auth = 'Basic ' + Buffer.from('k1:').toString('base64');
const event = { type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'zip-check-1', properties: { total: 5 } };
const post = (body, headers) => fetch(url + '/v1/track', { method: 'POST', headers: { authorization: auth, ...headers }, body });
const plain = await post(JSON.stringify(event), { 'content-type': 'application/json' });
const gz = await post(gzipSync(JSON.stringify({ ...event, messageId: 'zip-check-2' })), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
const beacon = await post(JSON.stringify({ ...event, messageId: 'zip-check-3' }), { 'content-type': 'text/plain' });
const badKey = await fetch(url + '/v1/track', { method: 'POST', headers: { authorization: 'Basic ' + Buffer.from('nope:').toString('base64'), 'content-type': 'application/json' }, body: JSON.stringify(event) });
const invalid = await post(JSON.stringify({ type: 'track', userId: 'u1' }), { 'content-type': 'application/json' });
const health = await fetch(url + '/healthz');
server.close();
console.log(JSON.stringify({ plain: plain.status, gz: gz.status, beacon: beacon.status, badKey: badKey.status, invalid: invalid.status, health: health.status }));
process.exit(0);
`,
      {
        SLUICE_TRANSPORT: 'spool',
        SLUICE_WRITE_KEYS: 'k1=web',
        SLUICE_DATA_DIR: data,
        SLUICE_LOG_LEVEL: 'silent',
      },
    );
    expect(result).toEqual({ plain: 200, gz: 200, beacon: 200, badKey: 401, invalid: 400, health: 200 });
    const files = readdirSync(join(data, 'buckets'), { recursive: true, withFileTypes: true }).filter((f) =>
      f.isFile(),
    );
    const contents = files.map((f) => readFileSync(join(f.parentPath, f.name), 'utf8')).join('');
    for (const id of ['zip-check-1', 'zip-check-2', 'zip-check-3']) expect(contents).toContain(id);
  }, 120_000);
});

/**
 * The zip's lock file, checked by npm itself (what Cloud Build's Node.js buildpack runs when a lock file is
 * present: `npm ci`, https://cloud.google.com/docs/buildpacks/nodejs): it must be in sync with package.json and
 * pin every package at the version installed (and tested) in this workspace. `--dry-run --offline`: npm plans the
 * install from the lock alone; a lock out of sync with package.json makes it need the registry, and fail.
 */
function expectNpmCiAccepts(unzipped: string): void {
  const dir = temp('npm-ci');
  for (const f of ['package.json', 'package-lock.json']) {
    writeFileSync(join(dir, f), readFileSync(join(unzipped, f)));
  }
  const ci = (): ReturnType<typeof spawnSync> =>
    spawnSync('npm', ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
  const ok = ci();
  expect(ok.status, String(ok.stderr)).toBe(0);
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; integrity?: string }>;
  };
  const manifestDeps = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies as Record<
    string,
    string
  >;
  for (const [name, version] of Object.entries(manifestDeps)) {
    expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
  }
  const entries = Object.entries(lock.packages).filter(([k]) => k !== '');
  expect(entries.length).toBeGreaterThan(Object.keys(manifestDeps).length); // transitive packages are pinned too
  for (const [path, entry] of entries) expect(entry.integrity, path).toMatch(/^sha(512|1)-/);
  // A package.json that no longer matches its lock is refused (the check can fail).
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  manifest.dependencies.fastify = '0.0.1-not-in-the-lock';
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  expect(ci().status).not.toBe(0);
}

const loaderBuilt = existsSync(join(LOADER_BUNDLE_DIR, 'index.js'));

describe.skipIf(!loaderBuilt)(
  'loader source zip (SKIPPED when functions/dist/index.js is missing: npm run build -w functions)',
  () => {
    it('imports on plain Node with only its declared dependencies (no DuckDB) and registers `loadEvents`', () => {
      const loader = packageLoader(join(temp('pkg'), 'loader'));
      const { outdir } = synthStacks([testConfig('prod')], {
        loaderDir: loader.dir,
        collectorDir: loader.dir,
      });
      const { dir, manifest } = unpack(archive(outdir, 'sluice-prod', 'loader'));
      expect(Object.keys(manifest.dependencies).filter((d) => d.startsWith('@duckdb/'))).toEqual([]);
      expect(manifest.dependencies).toHaveProperty('@google-cloud/functions-framework');
      expect(runIn(dir, registers('loadEvents'), { SLUICE_DESTINATION: 'bigquery' })).toEqual({
        registered: true,
      });
      expectNpmCiAccepts(dir);
    });
  },
);
