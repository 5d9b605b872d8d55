/**
 * A package-lock.json for a packaged function, cut from the workspace's own lock file: the function's runtime
 * dependencies and everything they pull in, at exactly the versions, tarballs and integrity hashes the workspace
 * installed and tested. Cloud Build's Node.js buildpack runs `npm ci` when a lock file is present
 * (https://cloud.google.com/docs/buildpacks/nodejs#installing_dependencies), so what runs on GCP is what ran here
 * instead of whatever the registry resolves on the day of the build.
 */

export interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

export interface LockFile {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/** Fields of a lock entry that describe the package itself (dev/peer flags belong to the old tree). */
const KEPT = [
  'version',
  'resolved',
  'integrity',
  'license',
  'dependencies',
  'optionalDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'engines',
  'os',
  'cpu',
  'bin',
  'hasInstallScript',
] as const;

/** Where Node (and npm's tree) finds `name` from the package at `from`: nearest node_modules upward. */
function resolveIn(packages: LockFile['packages'], from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut >= 0 ? dir.slice(0, cut) : '';
  }
}

/**
 * The lock file of a package named `name` whose `dependencies` are resolved as the workspace `workspaceDir`
 * (a key of the root lock's `packages`, e.g. `functions`) resolves them. Throws (with every problem) when a
 * dependency is missing, is a workspace link, or two versions would need the same place.
 */
export function lockFileFor(
  root: LockFile,
  workspaceDir: string,
  name: string,
  dependencies: Record<string, string>,
): LockFile {
  const problems: string[] = [];
  const packages: LockFile['packages'] = {
    '': { name, version: '0.0.0', dependencies: { ...dependencies } },
  };
  const placedFrom = new Map<string, string>();
  const queue: { from: string; to: string; name: string; optional: boolean }[] = Object.keys(
    dependencies,
  ).map((dep) => ({ from: workspaceDir, to: '', name: dep, optional: false }));
  for (let item = queue.shift(); item; item = queue.shift()) {
    const found = resolveIn(root.packages, item.from, item.name);
    if (!found) {
      if (!item.optional)
        problems.push(`${item.name} (needed by ${item.from || 'the root'}) is not in the lock file`);
      continue;
    }
    const entry = root.packages[found] as LockEntry;
    if (entry.link) {
      problems.push(`${item.name} resolves to the workspace link ${found}; bundle it instead`);
      continue;
    }
    // The workspace's own node_modules becomes the function's top level; deeper nesting is kept as is.
    const target = found.startsWith(`${workspaceDir}/`) ? found.slice(workspaceDir.length + 1) : found;
    const seen = placedFrom.get(target);
    if (seen !== undefined) {
      if (seen !== found) problems.push(`${target} would hold both ${seen} and ${found}`);
      continue;
    }
    placedFrom.set(target, found);
    const copy: LockEntry = {};
    for (const key of KEPT) if (entry[key] !== undefined) (copy as Record<string, unknown>)[key] = entry[key];
    packages[target] = copy;
    for (const dep of Object.keys(entry.dependencies ?? {})) {
      queue.push({ from: found, to: target, name: dep, optional: false });
    }
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      queue.push({ from: found, to: target, name: dep, optional: true });
    }
    for (const dep of Object.keys(entry.peerDependencies ?? {})) {
      const optional = entry.peerDependenciesMeta?.[dep]?.optional === true;
      queue.push({ from: found, to: target, name: dep, optional });
    }
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { name, version: '0.0.0', lockfileVersion: 3, requires: true, packages };
}
