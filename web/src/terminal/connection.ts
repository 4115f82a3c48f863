//! One terminal's socket over its whole life: connect, dispatch frames in
//! order, keep it alive with pings, and reconnect with backoff until the
//! session ends. No DOM and no xterm here, so it is unit-testable.

import {
  type ConnectedMsg,
  encodeInput,
  fitMessage,
  parseServerMessage,
  pingMessage,
  resizeMessage,
} from './protocol';
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelayMs, closeVerdict } from './reconnect';

/** What the user sees about the socket. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'ended' | 'failed';

/** The socket's state with details for the indicator. */
export interface ConnectionStatus {
  state: ConnectionState;
  /** Failed attempts since the last good connection. */
  attempt: number;
  /** Milliseconds until the next try while `reconnecting`. */
  retryInMs: number | null;
  /** Why it failed or ended, when known. */
  message: string | null;
}

/** Callbacks into the terminal; called in frame order. */
export interface TerminalHandlers {
  /** Size (and on a reconnect, reset) the terminal before the restore frame that follows. */
  connected(msg: ConnectedMsg, isReconnect: boolean): void;
  /** Program output (the first frame after `connected` is the screen restore). */
  output(data: Uint8Array): void;
  /** The PTY size changed (the size owner's resize). */
  resize(cols: number, rows: number): void;
  /** This viewer became, or stopped being, the size owner. */
  sizeOwner(owner: boolean): void;
  /** The process ended. */
  exit(code: number): void;
  /** The server refused a message. */
  serverError(code: string, message: string): void;
  /** The connection state changed. */
  status(status: ConnectionStatus): void;
}

/** The part of `WebSocket` this module uses. */
export interface SocketLike {
  binaryType: BinaryType;
  readonly readyState: number;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
}

/** Timer functions, injectable for tests. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
}

/** Answer of `beforeReconnect`: go on, or stop trying with a reason. */
export type ReconnectCheck = { stop: false } | { stop: true; message: string };

/** Options of a connection. */
export interface ConnectionOptions {
  /** The socket URL, asked anew for each attempt. */
  url: () => string;
  createSocket?: (url: string) => SocketLike;
  /** Asked before each retry, e.g. whether the session still exists. */
  beforeReconnect?: () => Promise<ReconnectCheck>;
  backoff?: BackoffOptions;
  random?: () => number;
  /** How often to ping; a ping unanswered by the next tick drops the socket. */
  pingIntervalMs?: number;
  timers?: Timers;
}

const OPEN = 1;
/** Client-chosen close code for a socket we gave up on (no answer to pings). */
const CLOSE_NO_ANSWER = 4000;

const browserTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (id) => globalThis.clearInterval(id as ReturnType<typeof setInterval>),
};

/** A terminal socket that reconnects until the session ends or `close()` is called. */
export class TerminalConnection {
  private readonly opts: ConnectionOptions;
  private readonly handlers: TerminalHandlers;
  private readonly timers: Timers;
  private socket: SocketLike | null = null;
  private attempt = 0;
  private everConnected = false;
  private sawExit = false;
  private closed = false;
  private readonlyMode = false;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private awaitingPong = false;
  private current: ConnectionStatus = { state: 'connecting', attempt: 0, retryInMs: null, message: null };

  constructor(opts: ConnectionOptions, handlers: TerminalHandlers) {
    this.opts = opts;
    this.handlers = handlers;
    this.timers = opts.timers ?? browserTimers;
  }

  /** The latest status. */
  get status(): ConnectionStatus {
    return this.current;
  }

  /** Whether the server lets this viewer type. */
  get readonly(): boolean {
    return this.readonlyMode;
  }

  /** Opens the first socket. */
  start(): void {
    this.connect();
  }

  /** Closes for good (the view unmounts). */
  close(): void {
    this.closed = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s) {
      detach(s);
      s.close(1000, 'viewer left');
    }
  }

  /** Skips the wait of a pending retry (the tab became visible, the network came back). */
  retryNow(): void {
    if (this.current.state !== 'reconnecting' || this.retryTimer === null) return;
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.reconnect();
  }

  /** Sends keyboard input; false when it cannot be sent (not connected, read-only). */
  sendInput(data: string): boolean {
    if (this.readonlyMode || !data) return false;
    return this.sendRaw(encodeInput(data));
  }

  /** Sends raw input bytes (xterm's `onBinary`: mouse reports in some modes). */
  sendBytes(bytes: Uint8Array): boolean {
    if (this.readonlyMode || bytes.length === 0) return false;
    return this.sendRaw(bytes);
  }

  /** Reports this viewer's size (the PTY's while it owns the size); false when it cannot be sent. */
  sendResize(cols: number, rows: number): boolean {
    if (this.readonlyMode) return false;
    return this.sendRaw(resizeMessage(cols, rows));
  }

  /** Takes the size over ("Fit to mine"); false when it cannot be sent. */
  sendFit(): boolean {
    if (this.readonlyMode) return false;
    return this.sendRaw(fitMessage());
  }

  private sendRaw(data: string | Uint8Array): boolean {
    const s = this.socket;
    if (!s || s.readyState !== OPEN || this.current.state !== 'connected') return false;
    s.send(data);
    return true;
  }

  private setStatus(next: Partial<ConnectionStatus> & { state: ConnectionState }): void {
    this.current = { attempt: this.attempt, retryInMs: null, message: null, ...next };
    this.handlers.status(this.current);
  }

  private connect(): void {
    if (this.closed) return;
    this.setStatus({ state: this.everConnected || this.attempt > 0 ? 'reconnecting' : 'connecting' });
    const create = this.opts.createSocket ?? ((url: string) => new WebSocket(url) as SocketLike);
    let socket: SocketLike;
    try {
      socket = create(this.opts.url());
    } catch (e) {
      this.setStatus({ state: 'failed', message: e instanceof Error ? e.message : String(e) });
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onmessage = (ev) => this.onMessage(ev);
    socket.onclose = (ev) => this.onClose(socket, ev.code, ev.reason);
    // `error` is always followed by `close`; the close handler decides.
    socket.onerror = () => {};
  }

  private onMessage(ev: MessageEvent): void {
    this.awaitingPong = false;
    if (typeof ev.data === 'string') {
      const msg = parseServerMessage(ev.data);
      if (!msg) return;
      switch (msg.type) {
        case 'connected': {
          const isReconnect = this.everConnected;
          this.everConnected = true;
          this.attempt = 0;
          this.readonlyMode = msg.readonly;
          this.setStatus({ state: 'connected' });
          this.startPing();
          // Must run before the restore frame is written: it sizes the terminal.
          this.handlers.connected(msg, isReconnect);
          return;
        }
        case 'resize':
          this.handlers.resize(msg.cols, msg.rows);
          return;
        case 'size_owner':
          this.handlers.sizeOwner(msg.owner);
          return;
        case 'exit':
          this.sawExit = true;
          this.handlers.exit(msg.code);
          return;
        case 'error':
          this.handlers.serverError(msg.code, msg.message);
          return;
        case 'pong':
          return;
      }
    }
    const data = ev.data;
    if (data instanceof ArrayBuffer) this.handlers.output(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) this.handlers.output(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  private onClose(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    detach(socket);
    this.socket = null;
    this.stopPing();
    if (this.closed) return;
    if (closeVerdict(code, this.sawExit) === 'ended') {
      this.setStatus({ state: 'ended', message: reason || null });
      return;
    }
    this.scheduleRetry(reason || null);
  }

  private scheduleRetry(message: string | null): void {
    const delay = backoffDelayMs(this.attempt, this.opts.backoff ?? DEFAULT_BACKOFF, this.opts.random);
    this.attempt += 1;
    this.setStatus({ state: 'reconnecting', retryInMs: delay, message });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    if (this.opts.beforeReconnect) {
      let check: ReconnectCheck;
      try {
        check = await this.opts.beforeReconnect();
      } catch {
        // Cannot tell (e.g. still offline): keep trying.
        check = { stop: false };
      }
      if (this.closed) return;
      if (check.stop) {
        this.setStatus({ state: 'failed', message: check.message });
        return;
      }
    }
    this.connect();
  }

  private startPing(): void {
    this.stopPing();
    this.awaitingPong = false;
    const interval = this.opts.pingIntervalMs ?? 20_000;
    this.pingTimer = this.timers.setInterval(() => this.pingTick(), interval);
  }

  private pingTick(): void {
    const s = this.socket;
    if (!s) return;
    if (this.awaitingPong) {
      // Nothing arrived for a whole interval after a ping: the link is dead
      // even if the browser has not noticed. Drop it and reconnect now.
      detach(s);
      this.socket = null;
      this.stopPing();
      s.close(CLOSE_NO_ANSWER, 'no answer');
      this.scheduleRetry('the server stopped answering');
      return;
    }
    if (s.readyState === OPEN) {
      s.send(pingMessage());
      this.awaitingPong = true;
    }
  }

  private stopPing(): void {
    if (this.pingTimer !== null) this.timers.clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private clearTimers(): void {
    this.stopPing();
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

function detach(s: SocketLike): void {
  s.onopen = null;
  s.onmessage = null;
  s.onclose = null;
  s.onerror = null;
}
