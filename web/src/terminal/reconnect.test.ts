// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, closeVerdict, DEFAULT_BACKOFF } from './reconnect';

const exact = { ...DEFAULT_BACKOFF, jitter: 0 };

describe('backoffDelayMs', () => {
  it('doubles from 500 ms and stops at 10 s', () => {
    const schedule = Array.from({ length: 8 }, (_, i) => backoffDelayMs(i, exact));
    expect(schedule).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  });

  it('jitters within ±20 % and never past the cap', () => {
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 0)).toBe(400);
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 1)).toBe(600);
    expect(backoffDelayMs(20, DEFAULT_BACKOFF, () => 1)).toBe(10000);
    expect(backoffDelayMs(20, DEFAULT_BACKOFF, () => 0)).toBe(8000);
  });

  it('survives huge attempt counts', () => {
    expect(backoffDelayMs(10_000, exact)).toBe(10000);
  });
});

describe('closeVerdict', () => {
  it('stops after exit or a normal close', () => {
    expect(closeVerdict(1000, false)).toBe('ended');
    expect(closeVerdict(1006, true)).toBe('ended');
  });

  it('reconnects after drops, shutdowns and ping timeouts', () => {
    expect(closeVerdict(1006, false)).toBe('reconnect');
    expect(closeVerdict(1001, false)).toBe('reconnect');
    expect(closeVerdict(1009, false)).toBe('reconnect');
  });
});
