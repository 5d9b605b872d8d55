// `cdktf synth` / `cdktf deploy` entry (cdktf.json: `npx tsx main.ts`). Reads every environment's config once,
// packages the two functions' source directories, and synthesizes one project stack per GCP project
// (`sluice-project-<project>`: APIs, service agents, project-wide grants) and one stack per environment
// (`sluice-<env>`), which depends on its project's.
import { App } from 'cdktf';
import { GcpConfigError, loadArtifactPaths, loadConfig } from './config.ts';
import { PackageError, packageCollector, packageLoader } from './package-function.ts';
import { sluiceStacks } from './stack.ts';

async function main(): Promise<void> {
  const configs = loadConfig(process.env);
  const paths = loadArtifactPaths(process.env);
  const sources = {
    loaderDir: packageLoader(undefined, paths.loaderBundleDir).dir,
    collectorDir: (await packageCollector()).dir,
  };
  const app = new App();
  sluiceStacks(app, configs, sources);
  app.synth();
}

main().catch((error: unknown) => {
  if (error instanceof GcpConfigError || error instanceof PackageError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
