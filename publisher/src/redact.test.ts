import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.ts';

describe('redactUrl', () => {
  it('takes the key out of the settings path and every secret query parameter, keeping the rest', () => {
    expect(redactUrl('/v1/projects/wk_1/settings')).toBe('/v1/projects/[redacted]/settings');
    expect(redactUrl('//V1/Projects/wk_1')).toBe('//V1/Projects/[redacted]');
    expect(redactUrl('/sourceConfig/?p=npm&writeKey=wk_1&v=3')).toBe(
      '/sourceConfig/?p=npm&writeKey=[redacted]&v=3',
    );
    expect(redactUrl('/beacon/v1/batch?write%4Bey=wk_1&token=t&x')).toBe(
      '/beacon/v1/batch?write%4Bey=[redacted]&token=[redacted]&x',
    );
    expect(redactUrl('/v1/track?%E0%A4%A=1')).toBe('/v1/track?%E0%A4%A=1');
  });
});
