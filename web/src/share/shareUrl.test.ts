// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { hrefFor, parseHash } from '../router';
import { appBase, shareStatus, shareUrl } from './shareUrl';

describe('shareUrl', () => {
  it('builds the link from the app base, under a sub-path too', () => {
    expect(shareUrl('http://h:7878/', 'share/abc')).toBe('http://h:7878/#/share/abc');
    expect(shareUrl('https://e.com/tools/ccweb/', 'share/abc')).toBe('https://e.com/tools/ccweb/#/share/abc');
  });

  it('ignores the current page, query and hash', () => {
    expect(appBase('https://e.com/ccweb/index.html?x=1#/sessions/s1')).toBe('https://e.com/ccweb/');
    expect(shareUrl('https://e.com/ccweb/#/sessions/s1', '/share/t')).toBe('https://e.com/ccweb/#/share/t');
  });

  it('accepts the server path as a hash route too', () => {
    expect(shareUrl('https://e.com/ccweb/', '#/share/ccweb_share_x')).toBe('https://e.com/ccweb/#/share/ccweb_share_x');
  });

  it('leads to the share route', () => {
    const url = new URL(shareUrl('https://e.com/p/', 'share/tok-1'));
    expect(parseHash(url.hash)).toEqual({ page: 'share', token: 'tok-1', tab: 'terminal' });
    expect(url.hash).toBe(hrefFor({ page: 'share', token: 'tok-1', tab: 'terminal' }));
  });
});

describe('shareStatus', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('tells active, expired and revoked apart', () => {
    expect(shareStatus({ revoked_at: null, expires_at: null }, now)).toBe('active');
    expect(shareStatus({ revoked_at: null, expires_at: '2025-06-01T11:00:00Z' }, now)).toBe('expired');
    expect(shareStatus({ revoked_at: '2025-06-01T10:00:00Z', expires_at: null }, now)).toBe('revoked');
  });
});
