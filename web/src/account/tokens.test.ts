// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { formatDateTime, TOKEN_EXPIRY_CHOICES, tokenNameProblem, tokenStatus } from './tokens';

describe('tokenStatus', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('is active without revocation or past expiry', () => {
    expect(tokenStatus({ revoked_at: null, expires_at: null }, now)).toBe('active');
    expect(tokenStatus({ revoked_at: null, expires_at: '2025-06-02T00:00:00Z' }, now)).toBe('active');
  });
  it('is expired past its expiry, and revoked wins', () => {
    expect(tokenStatus({ revoked_at: null, expires_at: '2025-06-01T11:59:59Z' }, now)).toBe('expired');
    expect(tokenStatus({ revoked_at: '2025-05-01T00:00:00Z', expires_at: '2025-05-02T00:00:00Z' }, now)).toBe('revoked');
  });
});

describe('tokenNameProblem', () => {
  it('wants 1 to 100 characters', () => {
    expect(tokenNameProblem('  ')).toMatch(/name/);
    expect(tokenNameProblem('ci deploy')).toBeNull();
    expect(tokenNameProblem('é'.repeat(100))).toBeNull();
    expect(tokenNameProblem('x'.repeat(101))).toMatch(/100/);
  });
});

describe('choices and formatting', () => {
  it('offers a never-expiring choice and lifetimes within the server range', () => {
    expect(TOKEN_EXPIRY_CHOICES.some((c) => c.secs === null)).toBe(true);
    for (const c of TOKEN_EXPIRY_CHOICES) if (c.secs !== null) expect(c.secs).toBeLessThanOrEqual(315_360_000);
  });
  it('formats missing or bad times as a dash', () => {
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('nope')).toBe('—');
    expect(formatDateTime('2025-06-01T12:00:00Z')).toMatch(/2025/);
  });
});
