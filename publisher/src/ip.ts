import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';

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

/**
 * The address Fastify resolved (socket, or a trusted proxy's `X-Forwarded-For` entry) when it is an IP address, in
 * its canonical text (`::ffff:` prefix of a mapped IPv4 dropped); otherwise undefined. A forwarding header is free
 * text: `not-an-ip<script>` must never reach `context.ip` or key a rate limit.
 */
export function validIp(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const trimmed = address.trim();
  const mapped = trimmed.toLowerCase().startsWith('::ffff:') ? trimmed.slice(7) : trimmed;
  if (isIPv4(mapped)) return mapped;
  if (isIPv6(trimmed)) return trimmed.toLowerCase();
  return undefined;
}

/**
 * The address a per-client limit is keyed on: the resolved client IP when it is one, else the socket's peer (a
 * forged, invalid `X-Forwarded-For` entry must not give each request a bucket of its own).
 */
export function clientAddress(request: FastifyRequest): string {
  return validIp(request.ip) ?? validIp(request.socket.remoteAddress) ?? 'unknown';
}
