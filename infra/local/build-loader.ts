import { spawnSync } from 'node:child_process';
import { LocalError } from './errors.ts';

/** Builds the loader bundle (functions/dist) the stack serves: `npm run build -w functions`. */
export function buildLoader(repoRoot: string, env: Record<string, string>): void {
  const result = spawnSync('npm', ['run', 'build', '--workspace', 'functions', '--if-present', '--silent'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().slice(-4000);
    throw new LocalError(
      'SLUICE_ERR_LOCAL_BUILD',
      `npm run build -w functions failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`,
    );
  }
}
