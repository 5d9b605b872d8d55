import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, buildSync } from 'esbuild';
import { type LockFile, lockFileFor } from './lock-file.ts';

/**
 * Turns built JavaScript into a directory Cloud Build can deploy as a Cloud Run function: the bundle files plus a
 * minimal package.json (`main`, `type: module`, and `dependencies` = the bundle's external runtime packages pinned to
 * the versions installed in this workspace) and a package-lock.json cut from the workspace's lock file (lock-file.ts),
 * so Cloud Build's `npm ci` installs exactly what was tested. The stack archives that directory with a TerraformAsset.
 */

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
/** Where packaged function directories go (gitignored). */
export const PACKAGES_DIR = join(REPO_ROOT, 'infra/gcp/dist/functions');
/** The loader bundle the loader engineer builds with `npm run build -w functions`. */
export const LOADER_BUNDLE_DIR = join(REPO_ROOT, 'functions/dist');
export const COLLECTOR_ENTRY = join(REPO_ROOT, 'infra/gcp/collector-entry.ts');

/** Packages that are never deployed: DuckDB is loaded (by dynamic import) only for the local destination. */
export const isExcludedDependency = (name: string): boolean => name.startsWith('@duckdb/');

export class PackageError extends Error {
  readonly code = 'SLUICE_ERR_INFRA_PACKAGE';
}

export interface PackagedFunction {
  dir: string;
  main: string;
  dependencies: Record<string, string>;
}

/** `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Bare package imports that the bundle leaves to Node's resolution (what `npm install` must provide). */
export function externalImports(files: readonly string[]): string[] {
  const result = buildSync({
    entryPoints: [...files],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
    outdir: '/tmp/sluice-analyze',
  });
  const names = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imp of input.imports) {
      if (!imp.external || isBuiltin(imp.path) || imp.path.startsWith('.') || imp.path.startsWith('/'))
        continue;
      names.add(packageName(imp.path));
    }
  }
  return [...names].sort();
}

/** The installed version of `name` seen from `fromDir` (walking up node_modules as Node does). */
export function installedVersion(name: string, fromDir: string): string | undefined {
  let dir = resolve(fromDir);
  for (;;) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest))
      return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export interface PackageOptions {
  /** Package name written into package.json. */
  name: string;
  /** Directory holding the built `.js` files (copied as is; `.map` files are left out). */
  bundleDir: string;
  /** The entry file inside bundleDir. */
  main: string;
  outDir: string;
  /** Where to look up installed versions (the bundled package's directory). */
  resolveFrom: string;
  exclude?: (name: string) => boolean;
  /** The workspace lock file to cut the function's lock from (default: the repository's package-lock.json). */
  lockFile?: string;
  /**
   * Writes a `project.toml` setting GOOGLE_FUNCTION_TARGET, which Google's buildpacks read when the image is built
   * outside Cloud Functions (https://cloud.google.com/docs/buildpacks/build-function).
   */
  functionTarget?: string;
}

export function packageFunction(options: PackageOptions): PackagedFunction {
  const main = join(options.bundleDir, options.main);
  if (!existsSync(main)) {
    throw new PackageError(`missing bundle ${main}: build it first (npm run build -w functions)`);
  }
  const exclude = options.exclude ?? isExcludedDependency;
  rmSync(options.outDir, { recursive: true, force: true });
  mkdirSync(options.outDir, { recursive: true });
  const files = readdirSync(options.bundleDir).filter((f) => f.endsWith('.js') || f.endsWith('.mjs'));
  for (const file of files) copyFileSync(join(options.bundleDir, file), join(options.outDir, file));

  const dependencies: Record<string, string> = {};
  const missing: string[] = [];
  const wanted = new Set(externalImports(files.map((f) => join(options.bundleDir, f))));
  wanted.add('@google-cloud/functions-framework');
  for (const name of [...wanted].sort()) {
    if (exclude(name)) continue;
    const version = installedVersion(name, options.resolveFrom);
    if (version) dependencies[name] = version;
    else missing.push(name);
  }
  if (missing.length > 0) {
    throw new PackageError(`runtime packages not installed in the workspace: ${missing.join(', ')}`);
  }
  const manifest = {
    name: options.name,
    version: '0.0.0',
    private: true,
    type: 'module',
    main: options.main,
    engines: { node: '>=20' },
    dependencies,
  };
  writeFileSync(join(options.outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const rootLock = JSON.parse(
    readFileSync(options.lockFile ?? join(REPO_ROOT, 'package-lock.json'), 'utf8'),
  ) as LockFile;
  let lock: LockFile;
  try {
    lock = lockFileFor(
      rootLock,
      relative(REPO_ROOT, resolve(options.resolveFrom)),
      options.name,
      dependencies,
    );
  } catch (error) {
    throw new PackageError(`cannot cut a lock file for ${options.name}: ${(error as Error).message}`);
  }
  writeFileSync(join(options.outDir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  if (options.functionTarget) {
    writeFileSync(
      join(options.outDir, 'project.toml'),
      `[[build.env]]\nname = "GOOGLE_FUNCTION_TARGET"\nvalue = "${options.functionTarget}"\n`,
    );
  }
  return { dir: options.outDir, main: options.main, dependencies };
}

/** Packages the loader from the loader engineer's bundle (`functions/dist/index.js`). */
export function packageLoader(
  outDir = join(PACKAGES_DIR, 'loader'),
  bundleDir = LOADER_BUNDLE_DIR,
): PackagedFunction {
  return packageFunction({
    name: 'sluice-loader',
    bundleDir,
    main: 'index.js',
    outDir,
    resolveFrom: join(REPO_ROOT, 'functions'),
  });
}

/**
 * Bundles the collector's function entry (collector-entry.ts, which wraps `@sluice/publisher`) with esbuild —
 * workspace packages inlined, npm packages external — then packages it like the loader.
 */
export async function packageCollector(outDir = join(PACKAGES_DIR, 'collector')): Promise<PackagedFunction> {
  const bundleDir = join(PACKAGES_DIR, 'collector-bundle');
  rmSync(bundleDir, { recursive: true, force: true });
  await build({
    entryPoints: [COLLECTOR_ENTRY],
    outfile: join(bundleDir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [
      {
        name: 'external-npm-packages',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@sluice/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  return packageFunction({
    name: 'sluice-collector',
    bundleDir,
    main: 'index.js',
    outDir,
    resolveFrom: join(REPO_ROOT, 'publisher'),
    functionTarget: 'collect',
  });
}
