// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, apiUrl, parseRetryAfter, sharedApiPath, terminalSocketUrl, terminalSocketUrlAt, withQuery, wsUrl } from './client';

describe('URLs', () => {
  it('resolve against a sub-path base, ignoring the hash route', () => {
    const base = 'https://example.com/tools/ccweb/#/sessions/abc';
    expect(apiUrl('api/me', base)).toBe('https://example.com/tools/ccweb/api/me');
    expect(apiUrl('/api/me', base)).toBe('https://example.com/tools/ccweb/api/me');
  });

  it('resolve at the root', () => {
    expect(apiUrl('api/me', 'http://127.0.0.1:7878/')).toBe('http://127.0.0.1:7878/api/me');
  });

  it('turn http into ws and https into wss', () => {
    expect(wsUrl('api/x', 'http://h:1/sub/')).toBe('ws://h:1/sub/api/x');
    expect(wsUrl('api/x', 'https://h/sub/#/y')).toBe('wss://h/sub/api/x');
  });

  it('build the terminal socket URL with the readonly flag', () => {
    expect(terminalSocketUrl('a-b', false, 'https://h/p/')).toBe('wss://h/p/api/claude/sessions/a-b/terminal');
    expect(terminalSocketUrl('a-b', true, 'https://h/p/')).toBe('wss://h/p/api/claude/sessions/a-b/terminal?readonly=1');
    expect(terminalSocketUrlAt(sharedApiPath('t/1'), true, 'https://h/p/')).toBe('wss://h/p/api/shared/t%2F1/terminal?readonly=1');
  });

  it('skip empty query values', () => {
    expect(withQuery('api/fs/dirs', { path: null })).toBe('api/fs/dirs');
    expect(withQuery('api/fs/dirs', { path: '/a b' })).toBe('api/fs/dirs?path=%2Fa+b');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and dates', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now)).toBe(60);
  });
});

describe('request', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('turns the JSON error body into an ApiError', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'slow down' } }), {
          status: 429,
          headers: { 'Retry-After': '12', 'Content-Type': 'application/json' },
        }),
      ),
    );
    const err = await api.login('a', 'b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', message: 'slow down', retryAfterSecs: 12 });
  });

  it('survives a non-JSON error page', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<h1>Bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' })));
    const err = await api.me().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('sends JSON with the right content type', async () => {
    const fetchMock = vi.fn(async (_url: string, _init: RequestInit) => new Response(JSON.stringify({ id: 'x' }), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    await api.renameSession('x', 'New title');
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toMatch(/\/api\/claude\/sessions\/x$/);
    expect(init.method).toBe('PATCH');
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(init.body).toBe('{"title":"New title"}');
  });

  it('reports an unreachable server as network_error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    const err = await api.listSessions().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'network_error' });
  });
});
