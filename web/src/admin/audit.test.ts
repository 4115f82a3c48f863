// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { withQuery } from '../api/client';
import { actionFilterProblem, auditQuery, dateRangeProblem, detailText, localDayStart, NO_FILTERS, summarizeDetail } from './audit';

describe('auditQuery', () => {
  it('sends only the filters that are set', () => {
    expect(withQuery('api/admin/audit', { ...auditQuery(NO_FILTERS) })).toBe('api/admin/audit?limit=50');
    const q = auditQuery({ ...NO_FILTERS, user: ' alice ', action: 'session.*', outcome: 'failure' }, 1234, 20);
    expect(q).toEqual({ user: 'alice', action: 'session.*', outcome: 'failure', before: 1234, limit: 20 });
    expect(withQuery('api/admin/audit', { ...q })).toBe('api/admin/audit?limit=20&user=alice&action=session.*&outcome=failure&before=1234');
  });

  it('turns a range of days into since (first midnight) and until (the midnight after the last day)', () => {
    const q = auditQuery({ ...NO_FILTERS, from: '2026-03-01', to: '2026-03-31' });
    expect(q.since).toBe(new Date(2026, 2, 1).toISOString());
    expect(q.until).toBe(new Date(2026, 3, 1).toISOString());
    // One day: exactly that day.
    const day = auditQuery({ ...NO_FILTERS, from: '2026-12-31', to: '2026-12-31' });
    expect(day.since).toBe(new Date(2026, 11, 31).toISOString());
    expect(day.until).toBe(new Date(2027, 0, 1).toISOString());
    // Either end may be open; a malformed day is left out.
    expect('until' in auditQuery({ ...NO_FILTERS, from: '2026-03-01' })).toBe(false);
    expect('since' in auditQuery({ ...NO_FILTERS, from: '03/01/2026' })).toBe(false);
  });

  it('says when the range is backwards', () => {
    expect(dateRangeProblem({ from: '2026-03-02', to: '2026-03-01' })).not.toBeNull();
    expect(dateRangeProblem({ from: '2026-03-01', to: '2026-03-01' })).toBeNull();
    expect(dateRangeProblem({ from: '', to: '2026-03-01' })).toBeNull();
    expect(localDayStart('nonsense')).toBeNull();
  });

  it('keeps before = 0 but drops a missing one', () => {
    expect(auditQuery(NO_FILTERS, 0).before).toBe(0);
    expect('before' in auditQuery(NO_FILTERS, null)).toBe(false);
  });
});

describe('actionFilterProblem', () => {
  it('accepts actions and prefixes', () => {
    for (const a of ['', 'login', 'token.create', 'session.*', 'admin.session.*']) expect(actionFilterProblem(a)).toBeNull();
  });
  it('refuses other shapes', () => {
    for (const a of ['*', 'session*', 'a b', '.x']) expect(actionFilterProblem(a)).not.toBeNull();
  });
});

describe('summarizeDetail', () => {
  it('lists object fields and skips empty ones', () => {
    expect(summarizeDetail({ name: 'ci', scope: 'read', expires_at: null })).toBe('name: ci, scope: read');
    expect(summarizeDetail({ input: { command: 'ls' } })).toBe('input: {"command":"ls"}');
  });
  it('handles strings, nothing and long text', () => {
    expect(summarizeDetail(null)).toBe('');
    expect(summarizeDetail('plain')).toBe('plain');
    const long = summarizeDetail({ k: 'x'.repeat(500) }, 20);
    expect(long).toHaveLength(20);
    expect(long.endsWith('…')).toBe(true);
  });
  it('pretty-prints the full detail', () => {
    expect(detailText({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(detailText(undefined)).toBe('');
  });
});
