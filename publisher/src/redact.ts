/** Query parameters that carry a write key (RudderStack's `writeKey`) or another secret: never logged. */
const SECRET_PARAMS = /^(write_?key|key|api_?key|token|access_?token)$/i;

/**
 * A request URL safe to log: the write key of `/v1/projects/<key>/settings` and the value of every secret query
 * parameter replaced by `[redacted]`. The rest of the query string is kept (as sent) so a log still shows the route.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(
    /(\/v1\/projects\/+)[^/?#]*/gi,
    (_m, prefix: string) => `${prefix}[redacted]`,
  );
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // A malformed escape is logged as sent; it cannot name a secret parameter we recognise anyway.
      }
      return SECRET_PARAMS.test(decoded) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}
