// The chat connection: a WebSocket that reconnects with backoff and resumes
// after the last seen event (`after_seq`), and, for terminal sessions, a
// poller of the stored transcript with the same interface.

import { parseEventsPage, parseServerMessage, type ClientMessage, type ServerMessage } from './protocol';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts in a row (0 while all is well). */
  attempt: number;
  /** While `reconnecting`: the wait before the next try. */
  retryInMs?: number;
  /** Closed because the session ended (no reconnect). */
  ended: boolean;
  /** Close reason, when known. */
  reason?: string;
}

/** What the chat view needs from a connection. */
export interface ChatConnection {
  start(): void;
  /** Sends a message; false when not connected (nothing is queued). */
  send(msg: ClientMessage): boolean;
  /** Skips the wait before the next reconnect. */
  reconnectNow(): void;
  /** Closes for good. */
  close(): void;
}

/** A session's API path (a share link's is `api/shared/<token>`). */
function defaultApiPath(sessionId: string): string {
  return `api/claude/sessions/${encodeURIComponent(sessionId)}`;
}

/** The chat WebSocket URL, relative to the document base (works under a sub-path). */
export function chatSocketUrl(baseURI: string, sessionId: string, afterSeq: number, readonly = false, apiPath?: string): string {
  const url = new URL(
    `${apiPath ?? defaultApiPath(sessionId)}/chat?after_seq=${Math.max(0, Math.floor(afterSeq))}`,
    baseURI,
  );
  if (readonly) url.searchParams.set('readonly', '1');
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  return url.toString();
}

/** The stored-transcript URL (`GET …/events`). */
export function eventsUrl(baseURI: string, sessionId: string, after: number, limit: number, apiPath?: string): string {
  return new URL(
    `${apiPath ?? defaultApiPath(sessionId)}/events?after=${Math.max(0, Math.floor(after))}&limit=${limit}`,
    baseURI,
  ).toString();
}

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** 0..1; jitter spreads reconnects of many tabs. Pass () => 0.5 for none. */
  random?: () => number;
}

/**
 * Wait before reconnect attempt `attempt` (0-based): base · 2^attempt with
 * ±20 % jitter, never above the cap.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 500;
  const cap = opts.capMs ?? 10_000;
  const random = opts.random ?? Math.random;
  const exp = Math.min(cap, base * 2 ** Math.min(Math.max(0, attempt), 30));
  const jittered = exp * (0.8 + 0.4 * random());
  return Math.round(Math.min(cap, jittered));
}

/** The subset of the WebSocket API used here (so tests can fake it). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface ChatSocketOptions {
  sessionId: string;
  /** The newest seq already shown; read at each (re)connect. */
  afterSeq: () => number;
  onMessage: (msg: ServerMessage) => void;
  onState: (info: ConnectionInfo) => void;
  readonly?: boolean;
  /** The session's API path, when not its own (a share link's). */
  apiPath?: string;
  baseURI?: () => string;
  createSocket?: SocketFactory;
  pingIntervalMs?: number;
  backoff?: BackoffOptions;
}

const OPEN = 1;
export const CLOSE_NORMAL = 1000;

function defaultBase(): string {
  return typeof document !== 'undefined' ? document.baseURI : 'http://localhost/';
}

/** Adds listeners for "the network is back" / "the tab is visible again". */
function onWake(fn: () => void): () => void {
  if (typeof window === 'undefined') return () => {};
  const visible = () => {
    if (document.visibilityState === 'visible') fn();
  };
  window.addEventListener('online', fn);
  document.addEventListener('visibilitychange', visible);
  return () => {
    window.removeEventListener('online', fn);
    document.removeEventListener('visibilitychange', visible);
  };
}

export class ChatSocket implements ChatConnection {
  private ws: SocketLike | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private stopped = false;
  private started = false;
  private unwake: () => void = () => {};

  constructor(private readonly opts: ChatSocketOptions) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unwake = onWake(() => this.reconnectNow());
    this.open();
  }

  send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  reconnectNow(): void {
    if (this.stopped || this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.open();
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unwake();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(CLOSE_NORMAL, 'bye');
      } catch {
        /* already closed */
      }
    }
    this.opts.onState({ state: 'closed', attempt: 0, ended: false, reason: 'closed' });
  }

  private emit(state: ConnectionState, extra: Partial<ConnectionInfo> = {}) {
    this.opts.onState({ state, attempt: this.attempt, ended: false, ...extra });
  }

  private open() {
    if (this.stopped) return;
    const url = chatSocketUrl(
      (this.opts.baseURI ?? defaultBase)(),
      this.opts.sessionId,
      this.opts.afterSeq(),
      this.opts.readonly,
      this.opts.apiPath,
    );
    this.emit(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws: SocketLike;
    try {
      ws = (this.opts.createSocket ?? ((u: string) => new WebSocket(u) as unknown as SocketLike))(url);
    } catch (err) {
      this.scheduleReconnect(String(err));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      this.emit('open');
      this.startPing();
    };
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      if (typeof ev.data !== 'string') return;
      const msg = parseServerMessage(ev.data);
      // The server accepted us: the next failure starts the backoff over.
      if (msg.type === 'connected') this.attempt = 0;
      this.opts.onMessage(msg);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      if (ev.code === CLOSE_NORMAL) {
        // The server closes with 1000 when the session ended (after the replay).
        this.stopped = true;
        this.unwake();
        this.opts.onState({ state: 'closed', attempt: 0, ended: true, reason: ev.reason || 'session ended' });
        return;
      }
      this.scheduleReconnect(ev.reason || `closed (${ev.code})`);
    };
  }

  private scheduleReconnect(reason: string) {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, this.opts.backoff);
    this.attempt += 1;
    this.emit('reconnecting', { retryInMs: delay, reason });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private startPing() {
    this.stopPing();
    const every = this.opts.pingIntervalMs ?? 25_000;
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws) return;
      // Nothing heard (not even a pong) for two intervals: the link is dead.
      if (Date.now() - this.lastHeard > 2 * every + 5_000) {
        this.ws = null;
        this.stopPing();
        this.detach(ws);
        try {
          ws.close(4000, 'ping timeout');
        } catch {
          /* ignore */
        }
        this.scheduleReconnect('ping timeout');
        return;
      }
      if (ws.readyState === OPEN) ws.send(JSON.stringify({ type: 'ping' }));
    }, every);
  }

  private stopPing() {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private detach(ws: SocketLike) {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
  }
}

export interface TranscriptPollerOptions {
  sessionId: string;
  afterSeq: () => number;
  onMessage: (msg: ServerMessage) => void;
  onState: (info: ConnectionInfo) => void;
  /** Whether the session still runs (else: read what is there, then stop). */
  isLive: () => boolean;
  /** The session's API path, when not its own (a share link's). */
  apiPath?: string;
  baseURI?: () => string;
  fetchImpl?: typeof fetch;
  intervalMs?: number;
  backoff?: BackoffOptions;
}

/**
 * Reads a terminal session's stored transcript (`GET …/events`) and polls
 * for more while the session runs. Read-only: `send` always fails.
 */
export class TranscriptPoller implements ChatConnection {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private attempt = 0;
  private opened = false;
  private unwake: () => void = () => {};

  constructor(private readonly opts: TranscriptPollerOptions) {}

  start(): void {
    this.unwake = onWake(() => this.reconnectNow());
    this.opts.onState({ state: 'connecting', attempt: 0, ended: false });
    void this.poll();
  }

  send(): boolean {
    return false;
  }

  reconnectNow(): void {
    if (this.stopped || this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    void this.poll();
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unwake();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.opts.onState({ state: 'closed', attempt: 0, ended: false, reason: 'closed' });
  }

  private async poll() {
    const limit = 1000;
    const doFetch = this.opts.fetchImpl ?? fetch;
    try {
      for (;;) {
        const url = eventsUrl((this.opts.baseURI ?? defaultBase)(), this.opts.sessionId, this.opts.afterSeq(), limit, this.opts.apiPath);
        const res = await doFetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
        if (this.stopped) return;
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const page = parseEventsPage(await res.json());
        if (this.stopped) return;
        if (!page) throw new Error('unexpected answer');
        this.attempt = 0;
        if (!this.opened) {
          this.opened = true;
          this.opts.onState({ state: 'open', attempt: 0, ended: false });
        }
        for (const e of page.events) this.opts.onMessage(e);
        if (page.events.length < limit) break;
      }
      if (!this.opts.isLive()) {
        this.stopped = true;
        this.unwake();
        this.opts.onState({ state: 'closed', attempt: 0, ended: true, reason: 'session ended' });
        return;
      }
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.poll();
      }, this.opts.intervalMs ?? 2000);
    } catch (err) {
      if (this.stopped) return;
      this.opened = false;
      const delay = backoffDelay(this.attempt, this.opts.backoff);
      this.attempt += 1;
      this.opts.onState({
        state: 'reconnecting',
        attempt: this.attempt,
        retryInMs: delay,
        ended: false,
        reason: err instanceof Error ? err.message : String(err),
      });
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.poll();
      }, delay);
    }
  }
}
