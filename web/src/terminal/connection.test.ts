// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { type ConnectionStatus, type SocketLike, type Timers, TerminalConnection } from './connection';
import type { ConnectedMsg } from './protocol';

class FakeSocket implements SocketLike {
  binaryType: BinaryType = 'blob';
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  closedWith: number | null = null;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string | ArrayBufferLike | ArrayBufferView) {
    this.sent.push(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
  }
  close(code?: number) {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
  }
  text(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
  binary(bytes: number[]) {
    this.onmessage?.({ data: new Uint8Array(bytes).buffer } as MessageEvent);
  }
  drop(code: number, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
}

/** Timers run by hand. */
class ManualTimers implements Timers {
  private next = 1;
  timeouts = new Map<number, { fn: () => void; ms: number }>();
  intervals = new Map<number, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.timeouts.set(id, { fn, ms });
    return id;
  }
  clearTimeout(id: unknown) {
    this.timeouts.delete(id as number);
  }
  setInterval(fn: () => void, ms: number) {
    const id = this.next++;
    this.intervals.set(id, { fn, ms });
    return id;
  }
  clearInterval(id: unknown) {
    this.intervals.delete(id as number);
  }
  fireTimeouts() {
    const all = [...this.timeouts.values()];
    this.timeouts.clear();
    all.forEach((t) => t.fn());
    return all.map((t) => t.ms);
  }
  tickIntervals() {
    [...this.intervals.values()].forEach((t) => t.fn());
  }
}

const connected = (over: Partial<ConnectedMsg> = {}) => ({
  type: 'connected',
  session: { id: 's' },
  cols: 100,
  rows: 30,
  readonly: false,
  ...over,
});

function setup(beforeReconnect?: () => Promise<{ stop: false } | { stop: true; message: string }>) {
  const sockets: FakeSocket[] = [];
  const timers = new ManualTimers();
  const log: string[] = [];
  const statuses: ConnectionStatus[] = [];
  const conn = new TerminalConnection(
    {
      url: () => 'ws://h/api/claude/sessions/s/terminal',
      createSocket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      timers,
      random: () => 0.5,
      beforeReconnect,
    },
    {
      connected: (m, again) => log.push(`connected ${m.cols}x${m.rows} reconnect=${again}`),
      output: (d) => log.push(`output ${Array.from(d).join(',')}`),
      resize: (c, r) => log.push(`resize ${c}x${r}`),
      sizeOwner: (owner) => log.push(`size owner ${owner}`),
      exit: (code) => log.push(`exit ${code}`),
      serverError: (code) => log.push(`error ${code}`),
      status: (s) => statuses.push(s),
    },
  );
  conn.start();
  return { conn, sockets, timers, log, statuses };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('TerminalConnection', () => {
  it('sizes the terminal before the restore frame, then streams output in order', () => {
    const { sockets, log, statuses } = setup();
    expect(statuses.at(-1)?.state).toBe('connecting');
    const s = sockets[0];
    expect(s.binaryType).toBe('arraybuffer');
    s.open();
    s.text(connected());
    s.binary([27, 99]);
    s.binary([104, 105]);
    s.text({ type: 'size_owner', owner: false });
    s.text({ type: 'resize', cols: 80, rows: 24 });
    expect(log).toEqual([
      'connected 100x30 reconnect=false',
      'output 27,99',
      'output 104,105',
      'size owner false',
      'resize 80x24',
    ]);
    expect(statuses.at(-1)?.state).toBe('connected');
  });

  it('sends input as binary and resize and fit as JSON, but not when read-only', () => {
    const { conn, sockets } = setup();
    const s = sockets[0];
    expect(conn.sendInput('x')).toBe(false); // not connected yet
    s.open();
    s.text(connected());
    expect(conn.sendInput('hi')).toBe(true);
    expect(conn.sendResize(90, 20)).toBe(true);
    expect(conn.sendFit()).toBe(true);
    expect(s.sent[0]).toEqual(new Uint8Array([104, 105]));
    expect(JSON.parse(s.sent[1] as string)).toEqual({ type: 'resize', cols: 90, rows: 20 });
    expect(JSON.parse(s.sent[2] as string)).toEqual({ type: 'fit' });

    const ro = setup();
    ro.sockets[0].open();
    ro.sockets[0].text(connected({ readonly: true }));
    expect(ro.conn.readonly).toBe(true);
    expect(ro.conn.sendInput('hi')).toBe(false);
    expect(ro.conn.sendResize(90, 20)).toBe(false);
    expect(ro.conn.sendFit()).toBe(false);
    expect(ro.sockets[0].sent).toEqual([]);
  });

  it('ends after exit and a normal close, without reconnecting', () => {
    const { sockets, timers, log, statuses } = setup();
    const s = sockets[0];
    s.open();
    s.text(connected());
    s.text({ type: 'exit', code: 0 });
    s.drop(1000);
    expect(log.at(-1)).toBe('exit 0');
    expect(statuses.at(-1)?.state).toBe('ended');
    expect(timers.timeouts.size).toBe(0);
    expect(sockets).toHaveLength(1);
  });

  it('reconnects with growing delays and marks the next connected as a reconnect', async () => {
    const { sockets, timers, log, statuses } = setup();
    sockets[0].open();
    sockets[0].text(connected());
    sockets[0].drop(1006);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', retryInMs: 500 });
    expect(timers.fireTimeouts()).toEqual([500]);
    await flush();
    expect(sockets).toHaveLength(2);
    sockets[1].drop(1006);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', retryInMs: 1000, attempt: 2 });
    timers.fireTimeouts();
    await flush();
    sockets[2].open();
    sockets[2].text(connected({ cols: 81 }));
    expect(log.at(-1)).toBe('connected 81x30 reconnect=true');
    expect(statuses.at(-1)).toMatchObject({ state: 'connected', attempt: 0 });
    // The schedule starts over after a good connection.
    sockets[2].drop(1001);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', retryInMs: 500 });
  });

  it('stops when the check before a retry says the session is gone', async () => {
    const { sockets, timers, statuses } = setup(async () => ({ stop: true, message: 'session not found' }));
    sockets[0].drop(1006);
    timers.fireTimeouts();
    await flush();
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)).toMatchObject({ state: 'failed', message: 'session not found' });
  });

  it('drops a socket that stops answering pings', () => {
    const { sockets, timers, statuses } = setup();
    const s = sockets[0];
    s.open();
    s.text(connected());
    timers.tickIntervals();
    expect(JSON.parse(s.sent[0] as string)).toEqual({ type: 'ping' });
    s.text({ type: 'pong' });
    timers.tickIntervals(); // answered: pings again
    expect(s.sent).toHaveLength(2);
    timers.tickIntervals(); // unanswered
    expect(s.closedWith).toBe(4000);
    expect(statuses.at(-1)?.state).toBe('reconnecting');
  });

  it('close() stops everything', () => {
    const { conn, sockets, timers } = setup();
    sockets[0].open();
    sockets[0].text(connected());
    conn.close();
    expect(sockets[0].closedWith).toBe(1000);
    expect(timers.intervals.size).toBe(0);
    sockets[0].drop(1006);
    expect(timers.timeouts.size).toBe(0);
  });

  it('retryNow skips the wait', async () => {
    const { conn, sockets, timers } = setup();
    sockets[0].drop(1006);
    conn.retryNow();
    await flush();
    expect(timers.timeouts.size).toBe(0);
    expect(sockets).toHaveLength(2);
  });
});
