/**
 * Cloud Storage naming rules, applied to the bucket and object names a CloudEvent hands the loader before any of
 * them becomes a path (the local object store) or a request (GCS).
 *
 * Buckets, https://cloud.google.com/storage/docs/buckets#naming :
 *   - 3-63 characters; names with dots up to 222, each dot-separated component at most 63;
 *   - only lowercase letters, digits, dashes, underscores and dots; begin and end with a letter or digit;
 *   - not an IP address in dotted-decimal notation; not beginning with `goog`; not containing `google`
 *     (or close misspellings such as `g00gle`).
 * Objects, https://cloud.google.com/storage/docs/objects#naming :
 *   - 1-1024 bytes of valid UTF-8; no carriage return or line feed;
 *   - not `.` or `..`; not beginning with `.well-known/acme-challenge/`.
 *
 * A directory tree cannot hold every name GCS allows (`a//b`, `a/../b`, a NUL), so `localObjectNameProblem`
 * adds what a file system needs: no empty, `.` or `..` segment, no NUL, segments of at most 255 bytes.
 */

const BUCKET_CHARS = /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/;
const DOTTED_DECIMAL = /^\d{1,3}(\.\d{1,3}){3}$/;
const GOOGLE_LIKE = /g[o0]{2}g[l1]e/;
const LONE_SURROGATE = /\p{Surrogate}/u;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Why `bucket` is not a Cloud Storage bucket name, or undefined when it is one. */
export function bucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3) return 'a bucket name has at least 3 characters';
  const components = bucket.split('.');
  if (bucket.length > (components.length > 1 ? 222 : 63)) {
    return 'a bucket name has at most 63 characters (222 with dots)';
  }
  if (!BUCKET_CHARS.test(bucket)) {
    return 'a bucket name has only a-z, 0-9, "-", "_", "." and begins and ends with a letter or digit';
  }
  if (components.some((c) => c.length === 0 || c.length > 63)) {
    return 'each dot-separated part of a bucket name has 1-63 characters';
  }
  if (DOTTED_DECIMAL.test(bucket)) return 'a bucket name is not an IP address';
  if (bucket.startsWith('goog') || GOOGLE_LIKE.test(bucket)) {
    return 'a bucket name does not begin with "goog" nor contain "google"';
  }
  return undefined;
}

/** Why `name` is not a Cloud Storage object name, or undefined when it is one. */
export function objectNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'an object name is not empty';
  if (LONE_SURROGATE.test(name)) return 'an object name is valid UTF-8';
  if (utf8Bytes(name) > 1024) return 'an object name has at most 1024 bytes of UTF-8';
  if (/[\r\n]/.test(name)) return 'an object name has no carriage return or line feed';
  if (name === '.' || name === '..') return 'an object name is not "." or ".."';
  if (name.startsWith('.well-known/acme-challenge/')) {
    return 'an object name does not begin with ".well-known/acme-challenge/"';
  }
  return undefined;
}

/** `objectNameProblem`, plus what a name needs to be a path under a local bucket directory. */
export function localObjectNameProblem(name: string): string | undefined {
  const gcs = objectNameProblem(name);
  if (gcs) return gcs;
  if (name.includes('\0')) return 'a local object name has no NUL character';
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      return 'a local object name has no empty, "." or ".." segment (no leading, trailing or double "/")';
    }
    if (utf8Bytes(segment) > 255)
      return 'each "/"-separated segment of a local object name has at most 255 bytes';
  }
  return undefined;
}
