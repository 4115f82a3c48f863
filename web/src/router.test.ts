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

  it('reports unknown places', () => {
    expect(parseHash('#/nope').page).toBe('not_found');
    expect(parseHash('#/sessions/%E0%A4%A').page).toBe('not_found');
  });

  it('round-trips through hrefFor', () => {
    const href = sessionHref('x y', { readonly: true, tab: 'transcript' });
    expect(href).toBe('#/sessions/x%20y?readonly=1&view=transcript');
    expect(hrefFor(parseHash(href))).toBe(href);
  });
});
