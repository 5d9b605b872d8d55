// The browser finder (issue 14 item 11): the environment variable first, then the usual paths, then PATH, and one
// clear line naming what to install when there is none.
import { describe, expect, it } from 'vitest';
import { findChromium } from './chromium.ts';

const has =
  (...paths: string[]) =>
  (p: string) =>
    paths.includes(p);

describe('findChromium', () => {
  it('takes SLUICE_CHROMIUM over every usual path, and says so when it points nowhere', () => {
    expect(
      findChromium({ SLUICE_CHROMIUM: '/opt/c/chrome' }, has('/opt/c/chrome', '/usr/bin/chromium')),
    ).toEqual({
      path: '/opt/c/chrome',
    });
    const wrong = findChromium({ SLUICE_CHROMIUM: '/nope/chrome' }, has('/usr/bin/chromium'));
    expect(wrong).toEqual({
      missing: expect.stringContaining('SLUICE_CHROMIUM=/nope/chrome does not exist'),
    });
  });

  it('tries the usual paths in order, then PATH', () => {
    expect(findChromium({}, has('/usr/bin/google-chrome', '/usr/bin/chromium'))).toEqual({
      path: '/usr/bin/chromium',
    });
    expect(findChromium({}, has('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'))).toEqual({
      path: '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    });
    expect(findChromium({ PATH: '/a:/home/me/bin' }, has('/home/me/bin/chromium-browser'))).toEqual({
      path: '/home/me/bin/chromium-browser',
    });
  });

  it('fails with one line naming what to install', () => {
    const none = findChromium({ PATH: '/a:/b' }, () => false);
    expect('missing' in none && none.missing).toMatch(/install Chromium .*Google Chrome.*SLUICE_CHROMIUM/);
    expect('missing' in none && none.missing.includes('\n')).toBe(false);
  });

  it('finds this machine’s browser', () => {
    expect(findChromium()).toEqual({ path: expect.any(String) });
  });
});
