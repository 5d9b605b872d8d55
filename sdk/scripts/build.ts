// `npm run build -w sdk`: ESM + CJS bundles for the browser and Node entries, and the minified IIFE for <script>.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
rmSync(dist, { recursive: true, force: true });

const common: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
};

/** The script-tag build (its size budget is checked on the output by `src/size.test.ts`). */
const IIFE_OPTIONS: BuildOptions = {
  ...common,
  entryPoints: ['src/browser/iife.ts'],
  format: 'iife',
  platform: 'browser',
  target: 'es2019',
  minify: true,
};

await Promise.all([
  build({ ...IIFE_OPTIONS, outfile: 'dist/sluice.iife.js' }),
  ...(['esm', 'cjs'] as const).flatMap((format) => [
    build({
      ...common,
      entryPoints: ['src/index.ts'],
      format,
      platform: 'browser',
      target: 'es2019',
      outfile: `dist/index.${format === 'esm' ? 'js' : 'cjs'}`,
    }),
    build({
      ...common,
      entryPoints: ['src/node.ts'],
      format,
      platform: 'node',
      target: 'node20',
      external: ['@google-cloud/pubsub'],
      outfile: `dist/node.${format === 'esm' ? 'js' : 'cjs'}`,
    }),
  ]),
]);

// Declarations: tsc keeps the sources' `.ts` specifiers in .d.ts files; published declarations need `.js`.
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
for (const file of readdirSync(`${dist}/types`, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.d.ts')) continue;
  const path = `${dist}/types/${file}`;
  writeFileSync(path, readFileSync(path, 'utf8').replace(/(from '\.{1,2}\/[^']+)\.ts'/g, "$1.js'"));
}
