// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { hrefFor, parseHash, sessionHref } from './router';

describe('parseHash', () => {
  it('reads home', () => {
    expect(parseHash('')).toEqual({ page: 'home' });
    expect(parseHash('#/')).toEqual({ page: 'home' });
    expect(parseHash('#/sessions')).toEqual({ page: 'home' });
  });

  it('reads a session with its options', () => {
    expect(parseHash('#/sessions/abc')).toEqual({ page: 'session', id: 'abc', readonly: false, tab: 'terminal' });
    expect(parseHash('#/sessions/abc?readonly=1&view=transcript')).toEqual({
      page: 'session',
      id: 'abc',
      readonly: true,
      tab: 'transcript',
    });
  });

  it('reads the admins’ session list, optionally of one owner', () => {
    expect(parseHash('#/admin/sessions')).toEqual({ page: 'admin_sessions' });
    expect(parseHash('#/admin/sessions?owner=bob')).toEqual({ page: 'admin_sessions', owner: 'bob' });
    expect(hrefFor({ page: 'admin_sessions', owner: 'a b' })).toBe('#/admin/sessions?owner=a%20b');
    expect(parseHash(hrefFor({ page: 'admin_sessions', owner: 'a b' }))).toEqual({ page: 'admin_sessions', owner: 'a b' });
  });

  it('reports unknown places', () => {
    expect(parseHash('#/nope').page).toBe('not_found');
    expect(parseHash('#/sessions/%E0%A4%A').page).toBe('not_found');
  });

  it('round-trips through hrefFor', () => {
    const href = sessionHref('x y', { readonly: true, tab: 'transcript' });
    expect(href).toBe('#/sessions/x%20y?readonly=1&view=transcript');
    expect(hrefFor(parseHash(href))).toBe(href);
  });

  it('reads the account and admin pages', () => {
    expect(parseHash('#/account')).toEqual({ page: 'account' });
    expect(parseHash('#/account/')).toEqual({ page: 'account' });
    expect(parseHash('#/admin')).toEqual({ page: 'admin_users' });
    expect(parseHash('#/admin/users')).toEqual({ page: 'admin_users' });
    expect(parseHash('#/admin/audit')).toEqual({ page: 'admin_audit' });
    expect(parseHash('#/admin/server')).toEqual({ page: 'admin_server' });
    expect(parseHash('#/constructor').page).toBe('not_found');
    for (const page of ['account', 'admin_users', 'admin_audit', 'admin_server'] as const) {
      expect(parseHash(hrefFor({ page }))).toEqual({ page });
    }
  });

  it('reads a share link with its view', () => {
    expect(parseHash('#/share/tok_1-x')).toEqual({ page: 'share', token: 'tok_1-x', tab: 'terminal' });
    expect(parseHash('#/share/t?view=transcript')).toEqual({ page: 'share', token: 't', tab: 'transcript' });
    expect(parseHash('#/share/%E0%A4%A').page).toBe('not_found');
    expect(parseHash('#/share/').page).toBe('not_found');
    const href = hrefFor({ page: 'share', token: 'a/b', tab: 'transcript' });
    expect(href).toBe('#/share/a%2Fb?view=transcript');
    expect(parseHash(href)).toEqual({ page: 'share', token: 'a/b', tab: 'transcript' });
  });
});
