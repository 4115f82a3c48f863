//! The terminal of a session: xterm.js wired to the terminal socket, sized
//! to its container, with copy/paste, a connection indicator, the process
//! exit, and a key bar for touch screens.
//!
//! Several screens can watch one terminal; it has the size of one of them,
//! the size owner (the one that last typed or pressed "Fit to mine"). The
//! others draw the owner's size scaled down to fit their container (or
//! letterboxed when smaller) and say so, with a "Fit to mine" button.

import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import { api, ApiError, sessionApiPath, terminalSocketUrlAt } from '../api/client';
import type { SessionInfo } from '../api/types';
import { Icon } from '../ui/icons';
import { useToasts } from '../ui/toasts';
import { clipboardShortcut, copyText, readText } from './clipboard';
import { openWebLink } from './links';
import { type ConnectionStatus, TerminalConnection } from './connection';
import { ConnectionIndicator } from './ConnectionIndicator';
import { KeyBar } from './KeyBar';
import { clampSize, describeEnd } from './protocol';
import { TERMINAL_FONT, TERMINAL_THEME, terminalFontSize } from './theme';

/** Props of `TerminalView`. */
interface TerminalViewProps {
  sessionId: string;
  /** Ask the server for a watch-only socket. */
  readonly: boolean;
  /** The session as the socket reports it, and fetched again after the exit. */
  onSession: (s: SessionInfo) => void;
  /** Starts the ended session again (the parent remounts this view); none: no Resume button (a share link). */
  onResume?: () => void;
  resuming: boolean;
  /** The session's API path (default `sessionApiPath(sessionId)`; a share link's is `sharedApiPath(token)`). */
  apiPath?: string;
  /** Fetches the session (default `api.getSession`). */
  fetchSession?: () => Promise<SessionInfo>;
}

/** Which renderer draws the cells. */
type Renderer = 'webgl' | 'dom';

/** `localStorage['ccweb.terminalRenderer'] = 'dom'` forces the DOM renderer (debugging, e2e tests that read the screen). */
function wantsWebgl(): boolean {
  try {
    return localStorage.getItem('ccweb.terminalRenderer') !== 'dom';
  } catch {
    return true;
  }
}

const RESIZE_DEBOUNCE_MS = 60;
/** The width xterm keeps for its scroll bar beside the cells (FitAddon leaves it free too). */
const SCROLLBAR_PX = 14;

/**
 * Whether the WebGL canvas's drawing buffer disagrees with its on-screen
 * size times the pixel ratio. Seen with emulated pixel ratios (headless
 * Chromium at DPR 2) and after zoom changes: the GL viewport then no longer
 * matches the canvas and the terminal paints blank, without any error.
 */
function webglCanvasMismatch(host: HTMLElement): boolean {
  const canvas = [...host.querySelectorAll<HTMLCanvasElement>('.xterm-screen canvas')].find(
    (c) => !c.classList.contains('xterm-link-layer'),
  );
  if (!canvas || canvas.clientWidth === 0) return false;
  const expected = Math.round(canvas.clientWidth * window.devicePixelRatio);
  return Math.abs(canvas.width - expected) > 2;
}

/** The terminal. */
export function TerminalView({ sessionId, readonly, onSession, onResume, resuming, apiPath, fetchSession }: TerminalViewProps) {
  const socketPath = apiPath ?? sessionApiPath(sessionId);
  const fetchRef = useRef(fetchSession);
  fetchRef.current = fetchSession;
  const getSession = () => (fetchRef.current ? fetchRef.current() : api.getSession(sessionId));
  const hostRef = useRef<HTMLDivElement>(null);
  const connRef = useRef<TerminalConnection | null>(null);
  const termRef = useRef<Terminal | null>(null);
  /** Takes the size over: reports this screen's size, then asks for it. */
  const fitToMineRef = useRef<() => void>(() => {});
  const [status, setStatus] = useState<ConnectionStatus>({ state: 'connecting', attempt: 0, retryInMs: null, message: null });
  const [exitCode, setExitCode] = useState<number | null>(null);
  const [serverReadonly, setServerReadonly] = useState(false);
  const [sizeOwner, setSizeOwner] = useState(true);
  const [endReason, setEndReason] = useState<string | null>(null);
  const [renderer, setRenderer] = useState<Renderer>('dom');
  const toasts = useToasts();
  const callbacks = useRef({ onSession, toasts });
  callbacks.current = { onSession, toasts };

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const cb = () => callbacks.current;

    const term = new Terminal({
      fontFamily: TERMINAL_FONT,
      fontSize: terminalFontSize(window.innerWidth),
      theme: TERMINAL_THEME,
      cursorBlink: true,
      scrollback: 10_000,
      macOptionIsMeta: true,
      disableStdin: readonly,
      allowProposedApi: false,
      // OSC 8 hyperlinks: only http(s), and no confirm() dialog to click through.
      linkHandler: { activate: (_event, uri) => openWebLink(uri), allowNonHttpProtocols: false },
    });
    termRef.current = term;
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new WebLinksAddon((_event, uri) => openWebLink(uri)));
    term.open(host);

    let webgl: WebglAddon | null = null;
    const dropWebgl = () => {
      if (!webgl) return;
      webgl.dispose();
      webgl = null;
      setRenderer('dom');
    };
    if (wantsWebgl()) {
      try {
        const addon = new WebglAddon();
        // The GPU went away (driver reset, too many contexts): the DOM renderer takes over.
        addon.onContextLoss(dropWebgl);
        term.loadAddon(addon);
        webgl = addon;
        setRenderer('webgl');
      } catch {
        setRenderer('dom');
      }
    }

    /** Whether the terminal has this screen's size (the server says; a watcher never has). */
    let ownsSize = true;
    /** The size this screen last reported as its own on this socket. */
    let reported: { cols: number; rows: number } | null = null;
    /** The next binary frame is the screen restore after `connected`. */
    let restorePending = false;
    let readonlyWarned = false;

    // The size owner's terminal fills the container. Anyone else's has the
    // owner's size: scale it down to fit (centred when smaller), so nothing
    // is cut off. A transform leaves the layout alone, so the container
    // still measures this screen's own size.
    const placeTerminal = () => {
      const el = term.element;
      const screen = el?.querySelector<HTMLElement>('.xterm-screen');
      if (!el || !screen) return;
      host.dataset.cols = String(term.cols);
      host.dataset.rows = String(term.rows);
      if (ownsSize) {
        el.style.width = '';
        el.style.height = '';
        el.style.transform = '';
        host.dataset.scaled = 'false';
        return;
      }
      const width = screen.offsetWidth + SCROLLBAR_PX;
      const height = screen.offsetHeight;
      if (width === 0 || height === 0) return;
      const scale = Math.min(1, host.clientWidth / width, host.clientHeight / height);
      const left = Math.max(0, (host.clientWidth - width * scale) / 2);
      el.style.width = `${width}px`;
      el.style.height = `${height}px`;
      el.style.transformOrigin = '0 0';
      el.style.transform = `translateX(${left}px) scale(${scale})`;
      host.dataset.scaled = 'true';
    };
    term.onResize(() => requestAnimationFrame(placeTerminal));

    // Tell the server this screen's size, unless we only watch; the owner
    // also fits the terminal to it (the others keep the owner's size).
    const syncSize = () => {
      const conn = connRef.current;
      if (!conn || conn.status.state !== 'connected') return;
      const dims = conn.readonly ? undefined : fit.proposeDimensions();
      if (dims && Number.isFinite(dims.cols) && Number.isFinite(dims.rows)) {
        const { cols, rows } = clampSize(dims.cols, dims.rows);
        if (ownsSize && (cols !== term.cols || rows !== term.rows)) term.resize(cols, rows);
        const changed = !reported || cols !== reported.cols || rows !== reported.rows;
        if (changed && conn.sendResize(cols, rows)) reported = { cols, rows };
      }
      placeTerminal();
    };
    fitToMineRef.current = () => {
      syncSize();
      connRef.current?.sendFit();
    };

    const conn = new TerminalConnection(
      {
        url: () => terminalSocketUrlAt(socketPath, readonly),
        beforeReconnect: async () => {
          try {
            await getSession();
            return { stop: false };
          } catch (e) {
            if (e instanceof ApiError && e.status === 404) return { stop: true, message: 'This session no longer exists.' };
            if (e instanceof ApiError && e.status === 401) return { stop: true, message: 'You were signed out.' };
            throw e;
          }
        },
      },
      {
        connected(msg, isReconnect) {
          // Order matters: reset and size the terminal before the restore
          // frame that follows, so it redraws exactly the server's screen.
          if (isReconnect) term.reset();
          term.options.disableStdin = msg.readonly;
          setServerReadonly(msg.readonly);
          ownsSize = msg.size_owner && !msg.readonly;
          setSizeOwner(ownsSize);
          reported = null;
          term.resize(msg.cols, msg.rows);
          restorePending = true;
          setEndReason(msg.session.end_reason);
          cb().onSession(msg.session);
          if (!msg.readonly && !window.matchMedia('(pointer: coarse)').matches) term.focus();
        },
        output(data) {
          if (restorePending) {
            restorePending = false;
            term.write(data, () => {
              syncSize();
              // Check the first real frame; a blank WebGL terminal gives no error.
              requestAnimationFrame(() => {
                if (webgl && webglCanvasMismatch(host)) dropWebgl();
              });
            });
          } else {
            term.write(data);
          }
        },
        resize(cols, rows) {
          if (cols !== term.cols || rows !== term.rows) term.resize(cols, rows);
          placeTerminal();
        },
        sizeOwner(owner) {
          ownsSize = owner && !conn.readonly;
          setSizeOwner(ownsSize);
          syncSize();
        },
        exit(code) {
          setExitCode(code);
          // The socket's session object predates the exit: fetch the ended one
          // (its end reason, exit code and state).
          void getSession().then(
            (s) => {
              setEndReason(s.end_reason);
              cb().onSession(s);
            },
            () => {},
          );
        },
        serverError(code, message) {
          if (code === 'readonly') {
            if (!readonlyWarned) cb().toasts.info('This terminal is read-only here.');
            readonlyWarned = true;
          } else if (code !== 'session_ended') {
            cb().toasts.error(`Terminal: ${message || code}`);
          }
        },
        status: setStatus,
      },
    );
    connRef.current = conn;

    term.onData((data) => conn.sendInput(data));
    term.onBinary((data) => conn.sendBytes(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));

    const paste = async () => {
      const text = await readText();
      if (text === null) {
        cb().toasts.error('The browser did not allow reading the clipboard. Use its Paste menu, or serve ccweb over https.');
      } else if (text) {
        term.paste(text);
      }
    };

    term.attachCustomKeyEventHandler((ev) => {
      const action = clipboardShortcut(ev);
      if (!action) return true;
      ev.preventDefault();
      if (action === 'copy') void copyText(term.getSelection());
      else if (!term.options.disableStdin) void paste();
      return false;
    });

    // Right click: copy the selection, or paste when nothing is selected.
    const onContextMenu = (e: MouseEvent) => {
      if (term.hasSelection()) {
        e.preventDefault();
        void copyText(term.getSelection()).then((ok) => ok && term.clearSelection());
      } else if (typeof navigator.clipboard?.readText === 'function' && !term.options.disableStdin) {
        e.preventDefault();
        void paste();
      }
    };
    host.addEventListener('contextmenu', onContextMenu);

    let resizeTimer: number | undefined;
    const observer = new ResizeObserver(() => {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(() => {
        syncSize();
        if (webgl && webglCanvasMismatch(host)) dropWebgl();
      }, RESIZE_DEBOUNCE_MS);
    });
    observer.observe(host);
    void document.fonts?.ready.then(syncSize);

    const retry = () => {
      if (document.visibilityState === 'visible') conn.retryNow();
    };
    window.addEventListener('online', retry);
    document.addEventListener('visibilitychange', retry);

    conn.start();

    return () => {
      window.removeEventListener('online', retry);
      document.removeEventListener('visibilitychange', retry);
      host.removeEventListener('contextmenu', onContextMenu);
      observer.disconnect();
      window.clearTimeout(resizeTimer);
      conn.close();
      connRef.current = null;
      fitToMineRef.current = () => {};
      webgl?.dispose();
      term.dispose();
      termRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- getSession reads a ref
  }, [sessionId, socketPath, readonly]);

  const ended = status.state === 'ended' || exitCode !== null;
  const canType = !serverReadonly && !ended && status.state === 'connected';

  return (
    <div className="terminal-view" data-testid="terminal-view">
      <div className="terminal-statusbar">
        <ConnectionIndicator status={status} exited={exitCode !== null} onRetry={() => connRef.current?.retryNow()} />
        {serverReadonly && !ended && (
          <span className="badge" data-testid="terminal-readonly">
            <Icon name="eye" size={14} /> Read-only
          </span>
        )}
        {!sizeOwner && !ended && status.state === 'connected' && (
          <span className="terminal-size-elsewhere" role="status" data-testid="terminal-size-elsewhere">
            Sized for another screen
            {!serverReadonly && (
              <button
                type="button"
                className="button button-small"
                onClick={() => {
                  fitToMineRef.current();
                  if (!window.matchMedia('(pointer: coarse)').matches) termRef.current?.focus();
                }}
                data-testid="terminal-fit"
              >
                Fit to mine
              </button>
            )}
          </span>
        )}
        <span className="terminal-statusbar-spacer" />
        <span className="muted small terminal-hint">Ctrl+Shift+C / V to copy and paste</span>
      </div>
      {exitCode !== null && (
        <div className="terminal-exit" role="status" data-testid="terminal-exit">
          <span>{describeEnd(exitCode, endReason)}</span>
          {onResume && (
            <button type="button" className="button button-primary button-small" onClick={onResume} disabled={resuming} data-testid="terminal-resume">
              <Icon name="play" size={16} /> {resuming ? 'Resuming…' : 'Resume'}
            </button>
          )}
        </div>
      )}
      <div className="terminal-frame">
        <div
          ref={hostRef}
          className="terminal-host"
          data-testid="terminal"
          data-renderer={renderer}
          aria-label="Terminal"
          onClick={() => termRef.current?.focus()}
        />
      </div>
      {canType && (
        <KeyBar
          onKey={(seq) => {
            connRef.current?.sendInput(seq);
          }}
        />
      )}
    </div>
  );
}
