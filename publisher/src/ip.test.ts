import { describe, expect, it } from 'vitest';
import { anonymizeIp } from './ip.ts';

describe('anonymizeIp', () => {
  it('zeroes the last IPv4 octet and keeps the /48 of IPv6', () => {
    expect(anonymizeIp('203.0.113.7')).toBe('203.0.113.0');
    expect(anonymizeIp('::ffff:203.0.113.7')).toBe('203.0.113.0');
    expect(anonymizeIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::');
    expect(anonymizeIp('2001:db8::1')).toBe('2001:db8:0::');
  });
});
