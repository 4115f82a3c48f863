// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  chatSocketUrl,
  ChatSocket,
  eventsUrl,
  TranscriptPoller,
  type ConnectionInfo,
  type SocketLike,
} from './socket';
import type { ServerMessage } from './protocol';

describe('share link paths', () => {
  it('puts the sockets and events below another API path', () => {
    expect(chatSocketUrl('https://e.com/p/', 's1', 4, true, 'api/shared/tok')).toBe('wss://e.com/p/api/shared/tok/chat?after_seq=4&readonly=1');
    expect(eventsUrl('https://e.com/p/', 's1', 2, 100, 'api/shared/tok')).toBe('https://e.com/p/api/shared/tok/events?after=2&limit=100');
  });
});

describe('chatSocketUrl', () => {
  it('resolves against the document base and switches the scheme', () => {
    expect(chatSocketUrl('http://h:8080/', 'abc', 0)).toBe('ws://h:8080/api/claude/sessions/abc/chat?after_seq=0');
    expect(chatSocketUrl('https://example.com/', 'abc', 42)).toBe(
      'wss://example.com/api/claude/sessions/abc/chat?after_seq=42',
    );
  });

  it('works under a sub-path', () => {
    expect(chatSocketUrl('https://example.com/tools/ccweb/', 'id-1', 5)).toBe(
      'wss://example.com/tools/ccweb/api/claude/sessions/id-1/chat?after_seq=5',
    );
    // A base that is a page inside the sub-path resolves to its folder.
    expect(chatSocketUrl('https://example.com/tools/ccweb/index.html', 'id-1', 5)).toBe(
      'wss://example.com/tools/ccweb/api/claude/sessions/id-1/chat?after_seq=5',
    );
  });

  it('adds readonly and encodes the id', () => {
    expect(chatSocketUrl('http://h/', 'a/b', 3, true)).toBe('ws://h/api/claude/sessions/a%2Fb/chat?after_seq=3&readonly=1');
  });

  it('never sends a negative or fractional seq', () => {
    expect(chatSocketUrl('http://h/', 'x', -4)).toContain('after_seq=0');
    expect(chatSocketUrl('http://h/', 'x', 7.9)).toContain('after_seq=7');
  });

  it('builds the events URL', () => {
    expect(eventsUrl('https://e.com/p/', 's', 10, 1000)).toBe('https://e.com/p/api/claude/sessions/s/events?after=10&limit=1000');
  });
});

describe('backoffDelay', () => {
  const mid = () => 0.5; // no jitter
  it('doubles from the base', () => {
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, { random: mid }))).toEqual([500, 1000, 2000, 4000, 8000]);
  });
  it('is capped at about 10 s', () => {
    for (const a of [5, 6, 10, 50, 1000]) expect(backoffDelay(a, { random: mid })).toBe(10_000);
    for (const a of [5, 10, 50]) expect(backoffDelay(a, { random: () => 1 })).toBeLessThanOrEqual(10_000);
  });
  it('jitters within ±20 %', () => {
    expect(backoffDelay(2, { random: () => 0 })).toBe(1600);
    expect(backoffDelay(2, { random: () => 0.999999 })).toBe(2400);
  });
  it('takes a custom base and cap', () => {
    expect(backoffDelay(3, { baseMs: 100, capMs: 500, random: mid })).toBe(500);
    expect(backoffDelay(-1, { baseMs: 100, random: mid })).toBe(100);
  });
});

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closedWith: [number | undefined, string | undefined] | null = null;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
  // Test helpers: what the server does.
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  message(obj: unknown) {
    this.onmessage?.({ data: JSON.stringify(obj) });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

describe('ChatSocket', () => {
  let states: ConnectionInfo[];
  let messages: ServerMessage[];
  let lastSeq: number;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    states = [];
    messages = [];
    lastSeq = 0;
  });
  afterEach(() => vi.useRealTimers());

  function make(extra: Partial<ConstructorParameters<typeof ChatSocket>[0]> = {}) {
    return new ChatSocket({
      sessionId: 'sid',
      afterSeq: () => lastSeq,
      onMessage: (m) => {
        messages.push(m);
        if (m.type === 'event') lastSeq = m.seq;
      },
      onState: (s) => states.push(s),
      baseURI: () => 'https://host/sub/',
      createSocket: (url) => new FakeSocket(url),
      backoff: { random: () => 0.5 },
      ...extra,
    });
  }

  it('connects, passes messages on and reconnects after the last seq', () => {
    const c = make();
    c.start();
    expect(states.at(-1)?.state).toBe('connecting');
    const ws = FakeSocket.all[0];
    expect(ws.url).toBe('wss://host/sub/api/claude/sessions/sid/chat?after_seq=0');
    ws.open();
    expect(states.at(-1)?.state).toBe('open');
    ws.message({ type: 'connected', session: { id: 'sid' }, last_seq: 2 });
    ws.message({ type: 'event', seq: 1, at: '', event: { kind: 'state', state: 'idle' } });
    ws.message({ type: 'event', seq: 2, at: '', event: { kind: 'state', state: 'running' } });
    expect(messages.map((m) => m.type)).toEqual(['connected', 'event', 'event']);
    expect(c.send({ type: 'interrupt' })).toBe(true);
    expect(ws.sent).toEqual(['{"type":"interrupt"}']);

    ws.drop(1006);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', retryInMs: 500 });
    expect(c.send({ type: 'interrupt' })).toBe(false);
    vi.advanceTimersByTime(499);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.all[1].url).toContain('after_seq=2');
    c.close();
  });

  it('backs off exponentially up to the cap and starts over once connected', () => {
    const c = make();
    c.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      FakeSocket.all.at(-1)!.drop(1006);
      const d = states.at(-1)!.retryInMs!;
      delays.push(d);
      vi.advanceTimersByTime(d);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
    const ws = FakeSocket.all.at(-1)!;
    ws.open();
    ws.message({ type: 'connected', session: { id: 'sid' }, last_seq: 0 });
    ws.drop(1001, 'server shutting down');
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', retryInMs: 500, reason: 'server shutting down' });
    c.close();
  });

  it('stops for good when the server closes normally (the session ended)', () => {
    const c = make();
    c.start();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.drop(1000, 'session ended');
    expect(states.at(-1)).toMatchObject({ state: 'closed', ended: true, reason: 'session ended' });
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    c.close();
  });

  it('pings every 25 s and reconnects when nothing comes back', () => {
    const c = make();
    c.start();
    const ws = FakeSocket.all[0];
    ws.open();
    vi.advanceTimersByTime(25_000);
    expect(ws.sent).toEqual(['{"type":"ping"}']);
    ws.message({ type: 'pong' });
    vi.advanceTimersByTime(25_000);
    expect(ws.sent).toHaveLength(2);
    // Silence from now on.
    vi.advanceTimersByTime(49_999);
    expect(ws.closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(ws.closedWith?.[1]).toBe('ping timeout');
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'ping timeout' });
    c.close();
  });

  it('closes cleanly and never reconnects afterwards', () => {
    const c = make();
    c.start();
    const ws = FakeSocket.all[0];
    ws.open();
    c.close();
    expect(ws.closedWith).toEqual([1000, 'bye']);
    expect(ws.onclose).toBeNull();
    expect(states.at(-1)).toMatchObject({ state: 'closed', ended: false });
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('reconnectNow skips the wait', () => {
    const c = make();
    c.start();
    FakeSocket.all[0].drop(1006);
    c.reconnectNow();
    expect(FakeSocket.all).toHaveLength(2);
    c.close();
  });

  it('adds readonly to the URL', () => {
    const c = make({ readonly: true });
    c.start();
    expect(FakeSocket.all[0].url).toContain('&readonly=1');
    c.close();
  });
});

describe('TranscriptPoller', () => {
  it('reads pages after the last seq and stops for an ended session', async () => {
    const urls: string[] = [];
    let seq = 0;
    const pages = [
      { events: [{ seq: 1, at: '', event: { kind: 'user_message', text: 'a', images: [] } }], last_seq: 1 },
    ];
    const states: ConnectionInfo[] = [];
    const got: ServerMessage[] = [];
    const fetchImpl = (async (url: string) => {
      urls.push(url);
      return { ok: true, status: 200, json: async () => pages.shift() ?? { events: [], last_seq: seq } };
    }) as unknown as typeof fetch;
    const p = new TranscriptPoller({
      sessionId: 's',
      afterSeq: () => seq,
      onMessage: (m) => {
        got.push(m);
        if (m.type === 'event') seq = m.seq;
      },
      onState: (s) => states.push(s),
      isLive: () => false,
      baseURI: () => 'http://h/x/',
      fetchImpl,
    });
    p.start();
    await vi.waitFor(() => expect(states.at(-1)?.state).toBe('closed'));
    expect(urls).toEqual(['http://h/x/api/claude/sessions/s/events?after=0&limit=1000']);
    expect(got).toHaveLength(1);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open', 'closed']);
    expect(states.at(-1)?.ended).toBe(true);
    expect(p.send()).toBe(false);
  });
});
