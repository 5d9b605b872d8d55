// Headless Chrome/Chromium for the browser e2e suites: found where a developer's machine has it (never downloaded),
// launched with the flags the team brief prescribes.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** The environment variable that names a Chrome or Chromium executable; it wins over every usual path. */
export const BROWSER_ENV = 'SLUICE_CHROMIUM';

/** Where Linux packages, macOS apps and Windows installers put Chrome or Chromium, in the order they are tried. */
const USUAL_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/opt/google/chrome/chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
  'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
];
/** Executable names looked up on PATH after the usual paths. */
const PATH_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

export type BrowserLookup = { path: string } | { missing: string };

/**
 * Finds the browser: `$SLUICE_CHROMIUM` (which must exist when set), then the usual install paths, then PATH.
 * `env` and `exists` are parameters so the order can be tested without the machine's browsers.
 */
export function findChromium(
  env: Record<string, string | undefined> = process.env,
  exists: (path: string) => boolean = existsSync,
): BrowserLookup {
  const named = env[BROWSER_ENV]?.trim();
  if (named) {
    return exists(named)
      ? { path: named }
      : { missing: `${BROWSER_ENV}=${named} does not exist: point it at a Chrome or Chromium executable` };
  }
  for (const path of USUAL_PATHS) if (exists(path)) return { path };
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of PATH_NAMES) {
      const path = join(dir, name);
      if (exists(path)) return { path };
    }
  }
  return {
    missing:
      'no Chrome or Chromium found: install Chromium (apt install chromium / brew install --cask chromium) or Google Chrome, or set SLUICE_CHROMIUM to its executable',
  };
}

/** The browser the suites drive; throws the one-line reason when there is none. */
export function chromiumPath(): string {
  const found = findChromium();
  if ('missing' in found) throw new Error(found.missing);
  return found.path;
}

/** Launches the found browser headless, without sandbox, GPU or background traffic (updates, sync, first-run). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
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
