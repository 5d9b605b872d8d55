import { isIPv4, isIPv6 } from 'node:net';

/**
 * Drops the host part of an address, as Google Analytics' IP anonymization does: the last octet of IPv4
 * (`203.0.113.7` -> `203.0.113.0`), the last 80 bits of IPv6 (keeps the /48).
 */
export function anonymizeIp(ip: string): string {
  const mapped = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (isIPv4(mapped)) return mapped.replace(/\.\d+$/, '.0');
  if (isIPv6(ip)) {
    const [head = '', tail = ''] = ip.split('::');
    const left = head === '' ? [] : head.split(':');
    const right = tail === '' ? [] : tail.split(':');
    const groups = ip.includes('::')
      ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
      : left;
    return `${groups.slice(0, 3).join(':')}::`;
  }
  return ip;
}
