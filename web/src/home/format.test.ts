// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { formatCost, formatTokens, relativeTime, shortPath } from './format';

describe('format', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('relativeTime', () => {
    expect(relativeTime('2025-06-01T11:59:50Z', now)).toBe('just now');
    expect(relativeTime('2025-06-01T11:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2025-06-01T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2025-05-30T12:00:00Z', now)).toBe('2 d ago');
    expect(relativeTime(null, now)).toBe('—');
    expect(relativeTime('garbage', now)).toBe('—');
  });
  it('formatCost', () => {
    expect(formatCost(0)).toBe('$0.00');
    expect(formatCost(0.0042)).toBe('$0.0042');
    expect(formatCost(1.234)).toBe('$1.23');
  });
  it('formatTokens', () => {
    expect(formatTokens(999)).toBe('999');
    expect(formatTokens(1234)).toBe('1.2k');
    expect(formatTokens(123456)).toBe('123k');
    expect(formatTokens(2_500_000)).toBe('2.5M');
  });
  it('shortPath', () => {
    expect(shortPath('/a/b')).toBe('/a/b');
    expect(shortPath('/srv/users/alice/projects/web')).toBe('…/alice/projects/web');
  });
});
