// Headless Chromium for the browser e2e suites: the system build, launched with the flags the team brief prescribes.
import { type Browser, chromium } from 'playwright-core';

/** The apt-installed Chromium the browser suites drive. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launches `CHROMIUM` headless, without sandbox, GPU or background traffic (updates, sync, first-run). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
