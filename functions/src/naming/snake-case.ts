/**
 * Key -> snake_case, deterministic (the rules are listed in docs/warehouse-schema.md):
 * 1. Unicode NFKD, combining marks removed (`café` -> `cafe`).
 * 2. A word boundary before an upper-case letter that follows a lower-case letter or digit (`userId` -> `user_Id`),
 *    and before the last capital of an acronym followed by lower case (`HTTPStatus` -> `HTTP_Status`).
 * 3. Other non-ASCII letters/digits become `u<hex code point>` words (`名` -> `u540d`); every other character `_`.
 * 4. Lower case; runs of `_` collapse to one; leading/trailing `_` removed (so a user key never yields `__` or
 *    a leading `_`, which keeps `__v_<type>` variants, `__` child tables and `_sluice_*` columns collision-free).
 * 5. A leading digit gets a `_` prefix (`1st` -> `_1st`). An empty result stays empty (callers hash it).
 */
const SIMPLE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

export function snakeCase(raw: string): string {
  if (SIMPLE.test(raw)) return raw;
  let s = raw.normalize('NFKD').replace(/\p{M}/gu, '');
  s = s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2');
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if ((code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122)) out += ch;
    else if (code > 127 && /[\p{L}\p{N}]/u.test(ch)) out += `_u${code.toString(16)}_`;
    else out += '_';
  }
  out = out.toLowerCase().replace(/_+/g, '_').replace(/^_|_$/g, '');
  if (/^[0-9]/.test(out)) out = `_${out}`;
  return out;
}
