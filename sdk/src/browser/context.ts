import type { Dict } from '../core/types.ts';
import { VERSION } from '../version.ts';

/** Page properties as Segment's `page()` fills them (also `context.page` on every event). */
export function pageInfo(): Dict {
  try {
    const { href, pathname, search, hash } = location;
    return {
      path: pathname,
      referrer: document.referrer,
      search,
      title: document.title,
      url: href.slice(0, href.length - hash.length),
    };
  } catch {
    return {};
  }
}

/** `utm_source=x&utm_campaign=y` -> `{ source: 'x', name: 'y' }`, Segment's `context.campaign` mapping. */
export function campaign(search: string): Dict | undefined {
  const out: Dict = {};
  let any = false;
  new URLSearchParams(search).forEach((v, k) => {
    if (k.startsWith('utm_')) {
      const key = k.slice(4);
      out[key === 'campaign' ? 'name' : key] = v;
      any = true;
    }
  });
  return any ? out : undefined;
}

/** The browser context every event carries; fields that cannot be read are left out, never thrown. */
export function browserContext(): Dict {
  const ctx: Dict = { library: { name: '@sluice/sdk', version: VERSION } };
  try {
    ctx.page = pageInfo();
    ctx.userAgent = navigator.userAgent;
    ctx.locale = navigator.language;
    ctx.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    ctx.screen = { width: screen.width, height: screen.height, density: devicePixelRatio };
    ctx.campaign = campaign(location.search);
  } catch {
    // not in a browser: keep what we have
  }
  return ctx;
}
