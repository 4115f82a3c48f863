//! The terminal WebSocket's control messages (docs/api.md, "Terminal
//! WebSocket"): parsing what the server sends in text frames and encoding
//! what the client sends. Terminal bytes travel in binary frames.

import type { SessionInfo } from '../api/types';

/** First message after the upgrade; the screen-restore binary frame follows. */
export interface ConnectedMsg {
  type: 'connected';
  session: SessionInfo;
  cols: number;
  rows: number;
  readonly: boolean;
  /**
   * Whether the terminal has this viewer's size; otherwise it shows another
   * viewer's (drawn scaled, with a "Fit to mine" control). A server that
   * predates size owners does not say: the last resize won there, so true.
   */
  size_owner: boolean;
}

/** A control message from the server. */
export type TerminalServerMsg =
  | ConnectedMsg
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'size_owner'; owner: boolean }
  | { type: 'exit'; code: number }
  | { type: 'error'; code: string; message: string }
  | { type: 'pong' };

/** Smallest and largest sizes the server accepts (it clamps to these). */
export const MIN_COLS = 2;
export const MAX_COLS = 1000;
export const MIN_ROWS = 2;
export const MAX_ROWS = 500;

function isDim(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/**
 * Parses a text frame from the server. Returns null for anything that is not
 * a known, well-formed message, so a newer server cannot crash the client.
 */
export function parseServerMessage(text: string): TerminalServerMsg | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'connected':
      if (!isDim(m.cols) || !isDim(m.rows) || typeof m.session !== 'object' || m.session === null) return null;
      return {
        type: 'connected',
        session: m.session as SessionInfo,
        cols: m.cols,
        rows: m.rows,
        readonly: m.readonly === true,
        size_owner: m.size_owner !== false,
      };
    case 'resize':
      if (!isDim(m.cols) || !isDim(m.rows)) return null;
      return { type: 'resize', cols: m.cols, rows: m.rows };
    case 'size_owner':
      if (typeof m.owner !== 'boolean') return null;
      return { type: 'size_owner', owner: m.owner };
    case 'exit':
      if (typeof m.code !== 'number') return null;
      return { type: 'exit', code: m.code };
    case 'error':
      return {
        type: 'error',
        code: typeof m.code === 'string' ? m.code : 'unknown',
        message: typeof m.message === 'string' ? m.message : '',
      };
    case 'pong':
      return { type: 'pong' };
    default:
      return null;
  }
}

/** Clamps a size to what the server accepts. */
export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const c = Math.min(MAX_COLS, Math.max(MIN_COLS, Math.floor(cols)));
  const r = Math.min(MAX_ROWS, Math.max(MIN_ROWS, Math.floor(rows)));
  return { cols: c, rows: r };
}

/** `{"type":"resize",…}` for the server, clamped. */
export function resizeMessage(cols: number, rows: number): string {
  const size = clampSize(cols, rows);
  return JSON.stringify({ type: 'resize', cols: size.cols, rows: size.rows });
}

/** `{"type":"fit"}`: take the size over (the PTY gets this viewer's last `resize`). */
export function fitMessage(): string {
  return JSON.stringify({ type: 'fit' });
}

/** `{"type":"ping"}`. */
export function pingMessage(): string {
  return JSON.stringify({ type: 'ping' });
}

const encoder = new TextEncoder();

/** Keyboard input as the bytes of a binary frame (UTF-8). */
export function encodeInput(data: string): Uint8Array {
  return encoder.encode(data);
}

/**
 * The end of a session as a user reads it, using the session's
 * `end_reason` when known (a restart's -1 says little by itself).
 */
export function describeEnd(code: number, endReason: string | null | undefined): string {
  switch (endReason) {
    case 'server_restart':
      return 'Stopped because the ccweb server restarted';
    case 'shutdown':
      return 'Stopped because the ccweb server shut down';
    case 'idle':
      return `Stopped after being idle too long (exit code ${code})`;
    case 'memory_limit':
      return 'Killed: the session went over its memory limit';
    case 'max_age':
      return `Stopped after running for the longest a session may (exit code ${code})`;
    case 'stop':
      return `Stopped (exit code ${code})`;
    case 'error':
      return 'The CLI could not be started';
    default:
      return describeExit(code);
  }
}

/** The process exit as a user reads it. */
export function describeExit(code: number): string {
  if (code > 128 && code < 128 + 65) {
    const signal = code - 128;
    const names: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 15: 'SIGTERM' };
    const name = names[signal] ?? `signal ${signal}`;
    return `Process exited with code ${code} (${name})`;
  }
  return `Process exited with code ${code}`;
}

/** Escape sequences of the keys on the touch key bar. */
export const SPECIAL_KEYS = {
  esc: '\x1b',
  tab: '\t',
  shiftTab: '\x1b[Z',
  ctrlC: '\x03',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  enter: '\r',
} as const;
