// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { withQuery } from '../api/client';
import { actionFilterProblem, auditQuery, detailText, NO_FILTERS, summarizeDetail } from './audit';

describe('auditQuery', () => {
  it('sends only the filters that are set', () => {
    expect(withQuery('api/admin/audit', { ...auditQuery(NO_FILTERS) })).toBe('api/admin/audit?limit=50');
    const q = auditQuery({ user: ' alice ', action: 'session.*', outcome: 'failure' }, 1234, 20);
    expect(q).toEqual({ user: 'alice', action: 'session.*', outcome: 'failure', before: 1234, limit: 20 });
    expect(withQuery('api/admin/audit', { ...q })).toBe('api/admin/audit?limit=20&user=alice&action=session.*&outcome=failure&before=1234');
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
