// The chat view of a session: transcript, permission prompts, composer.
//
// Chat sessions talk over the chat WebSocket (reconnecting after the last
// seen event); terminal sessions show their stored transcript, read-only.

import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useServerPolicy } from '../api/serverPolicy';
import './chat.css';
import { Composer } from './Composer';
import { PermissionDialog, type PermissionAnswer } from './PermissionDialog';
import type { ClientMessage, ImageInput, ServerMessage, SessionInfo } from './protocol';
import { ChatSocket, TranscriptPoller, type ChatConnection, type ConnectionInfo } from './socket';
import {
  chatReducer,
  initialChatState,
  isBusy,
  isEnded,
  isEndedState,
  pendingPermissions,
  type PermissionEntry,
} from './state';
import { Toolbar } from './Toolbar';
import { TranscriptItems } from './Transcript';

export interface ChatViewProps {
  sessionId: string;
  session: SessionInfo;
  /** Watch only (also forced for terminal sessions). */
  readonly?: boolean;
  /** The session's API path, when not its own (a share link's `api/shared/<token>`). */
  apiPath?: string;
  /** Told whenever a turn starts or ends (the page asks before ending a session mid-turn). */
  onTurnRunning?: (running: boolean) => void;
}

interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

/** Codes of refusals after which a just-sent prompt is put back in the composer. */
const REFUSED_PROMPT = new Set(['invalid_message', 'readonly', 'session_ended', 'bad_message']);

let toastSeq = 0;

export function ChatView({ sessionId, session, readonly: readonlyProp = false, apiPath, onTurnRunning }: ChatViewProps) {
  const transcriptOnly = session.mode === 'terminal';
  const readonly = readonlyProp || transcriptOnly;
  const [state, dispatch] = useReducer(chatReducer, session, initialChatState);
  const policy = useServerPolicy();
  const [conn, setConn] = useState<ConnectionInfo>({ state: 'connecting', attempt: 0, ended: false });
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [answering, setAnswering] = useState<Record<string, boolean>>({});
  const [restore, setRestore] = useState<{ text: string; nonce: number } | null>(null);
  const connRef = useRef<ChatConnection | null>(null);
  const lastSent = useRef<{ text: string; at: number } | null>(null);
  const liveRef = useRef(!isEndedState(session.state));
  liveRef.current = !isEndedState(session.state);

  const toast = useCallback((kind: Toast['kind'], text: string) => {
    const id = ++toastSeq;
    setToasts((prev) => [...prev.slice(-3), { id, kind, text }]);
    setTimeout(() => setToasts((prev) => prev.filter((t) => t.id !== id)), kind === 'info' ? 5000 : 30_000);
  }, []);

  // ------------------------------------------------------------ connection
  useEffect(() => {
    dispatch({ type: 'reset', session });
    let seq = 0;
    let buffer: ServerMessage[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    // Events come in bursts (replay, streaming): fold them in per frame.
    const flush = () => {
      timer = null;
      const msgs = buffer;
      buffer = [];
      for (const msg of msgs) dispatch({ type: 'server', msg });
    };
    const onMessage = (msg: ServerMessage) => {
      if (msg.type === 'event') seq = Math.max(seq, msg.seq);
      if (msg.type === 'error') {
        setAnswering({});
        const sent = lastSent.current;
        if (sent && REFUSED_PROMPT.has(msg.code) && Date.now() - sent.at < 10_000) {
          setRestore({ text: sent.text, nonce: Date.now() });
          lastSent.current = null;
        }
        toast('error', `${msg.message || msg.code} (${msg.code})`);
        return;
      }
      if (msg.type === 'unknown') {
        console.warn('ccweb chat: unrecognised server message', msg.reason, msg.raw);
      }
      if (msg.type === 'pong') return;
      buffer.push(msg);
      if (timer === null) timer = setTimeout(flush, 16);
    };
    const onState = (info: ConnectionInfo) => setConn(info);
    const c: ChatConnection = transcriptOnly
      ? new TranscriptPoller({ sessionId, apiPath, afterSeq: () => seq, onMessage, onState, isLive: () => liveRef.current })
      : new ChatSocket({ sessionId, apiPath, afterSeq: () => seq, onMessage, onState, readonly });
    connRef.current = c;
    c.start();
    return () => {
      c.close();
      if (timer !== null) clearTimeout(timer);
      buffer = [];
      if (connRef.current === c) connRef.current = null;
    };
    // `session` is read for the first paint only; the socket keeps it fresh.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sessionId, apiPath, transcriptOnly, readonly, toast]);

  const send = useCallback(
    (msg: ClientMessage): boolean => {
      if (connRef.current?.send(msg)) return true;
      toast('error', 'Not connected to the session right now; try again in a moment.');
      return false;
    },
    [toast],
  );

  // ------------------------------------------------------------ derived
  const ended = isEnded(state) || (conn.state === 'closed' && conn.ended && !transcriptOnly);
  const busy = isBusy(state) && !ended;
  const connected = conn.state === 'open';
  const queue = useMemo(() => pendingPermissions(state), [state.pending, state.permissions]); // eslint-disable-line react-hooks/exhaustive-deps
  const permissionsByTool = useMemo(() => {
    const out: Record<string, PermissionEntry> = {};
    for (const p of Object.values(state.permissions)) {
      const id = p.request.tool_use_id;
      if (id && (!out[id] || out[id].seq < p.seq)) out[id] = p;
    }
    return out;
  }, [state.permissions]);

  useEffect(() => onTurnRunning?.(busy), [busy, onTurnRunning]);
  useEffect(() => () => onTurnRunning?.(false), [onTurnRunning]);

  // An answer in flight when the link dropped may be lost: allow answering again.
  useEffect(() => {
    if (conn.state !== 'open') setAnswering((prev) => (Object.keys(prev).length ? {} : prev));
  }, [conn.state]);

  // Forget answers the server has settled.
  useEffect(() => {
    setAnswering((prev) => {
      const keep = Object.keys(prev).filter((id) => state.pending.includes(id));
      return keep.length === Object.keys(prev).length ? prev : Object.fromEntries(keep.map((id) => [id, true]));
    });
  }, [state.pending]);

  // ------------------------------------------------------------ scrolling
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    stick.current = atBottom;
    setShowJump(!atBottom);
  };
  // ------------------------------------------------------------ actions
  const onAnswer = useCallback(
    (requestId: string, a: PermissionAnswer) => {
      const msg: Extract<ClientMessage, { type: 'permission_response' }> = {
        type: 'permission_response',
        request_id: requestId,
        behavior: a.behavior,
      };
      if (a.updated_input) msg.updated_input = a.updated_input;
      if (a.message) msg.message = a.message;
      if (a.remember) msg.remember = true;
      if (send(msg)) setAnswering((prev) => ({ ...prev, [requestId]: true }));
    },
    [send],
  );
  const onSend = useCallback(
    (text: string, images: ImageInput[]) => {
      const msg: ClientMessage = images.length ? { type: 'user_message', text, images } : { type: 'user_message', text };
      lastSent.current = { text, at: Date.now() };
      const ok = send(msg);
      if (ok) stick.current = true;
      else lastSent.current = null;
      return ok;
    },
    [send],
  );
  const interrupt = useCallback(() => {
    if (send({ type: 'interrupt' })) dispatch({ type: 'interrupt' });
  }, [send]);

  // ------------------------------------------------------------ scrolling
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [state.items, queue.length]);
  const jump = () => {
    const el = scroller.current;
    if (!el) return;
    stick.current = true;
    el.scrollTop = el.scrollHeight;
    setShowJump(false);
  };

  // ------------------------------------------------------------ render
  const disabledReason = transcriptOnly
    ? undefined
    : readonly
      ? 'Read-only: you are watching this session.'
      : ended
        ? 'This session has ended; resume it to continue.'
        : undefined;
  const answerBlocked = readonly
    ? 'Read-only: you cannot answer.'
    : !connected
      ? 'Not connected; reconnecting…'
      : undefined;
  const interrupting = busy && state.interrupting;
  const showThinking = busy && !interrupting && !state.streamingMessage && queue.length === 0;

  return (
    <div
      className="chat"
      data-testid="chat-view"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !e.defaultPrevented && busy && !readonly) {
          e.preventDefault();
          interrupt();
        }
      }}
    >
      <Toolbar
        conn={conn}
        onRetry={() => connRef.current?.reconnectNow()}
        ended={ended}
        turnState={state.turnState}
        processState={state.processState}
        model={state.model}
        models={state.models}
        permissionMode={state.permissionMode}
        totals={state.totals}
        canControl={connected && !readonly && !ended}
        errorKey={state.lastErrorSeq}
        transcriptOnly={transcriptOnly}
        bypassAllowed={policy?.allow_bypass_permissions === true}
        onSetModel={(model) => send(model ? { type: 'set_model', model } : { type: 'set_model' })}
        onSetMode={(mode) => send({ type: 'set_permission_mode', mode })}
      />
      <div className="chat-scroll" ref={scroller} onScroll={onScroll}>
        <div
          className="chat-transcript"
          data-testid="chat-transcript"
          role="log"
          aria-live="polite"
          aria-relevant="additions"
          aria-label="Conversation"
        >
          {state.items.length === 0 && (
            <div className="chat-empty">
              {conn.state === 'connecting' || (conn.state === 'open' && state.lastSeq === 0 && !state.turnState)
                ? 'Loading the conversation…'
                : transcriptOnly
                  ? 'No transcript yet: it follows the conversation file Claude Code writes, and shows up here after the first prompt.'
                  : ended
                    ? 'This session ended before anything was said.'
                    : 'Ask Claude anything. Type / for commands, paste images to attach them.'}
            </div>
          )}
          <TranscriptItems
            items={state.items}
            permissions={state.permissions}
            toolResults={state.toolResults}
            permissionsByTool={permissionsByTool}
            active={busy}
          />
          {showThinking && (
            <div className="chat-working" aria-label="Claude is working">
              <span className="dots" aria-hidden="true">
                <span />
                <span />
                <span />
              </span>
              Working…
            </div>
          )}
          {interrupting && (
            <div className="chat-working" role="status" data-testid="chat-interrupting">
              Interrupting…
            </div>
          )}
        </div>
      </div>
      <div className={`chat-bottom${transcriptOnly && toasts.length === 0 && !showJump ? ' chat-bottom-empty' : ''}`}>
        {showJump && (
          <button type="button" className="chat-jump" onClick={jump} aria-label="Jump to the latest message">
            ↓ Latest
          </button>
        )}
        {toasts.length > 0 && (
          <div className="chat-toasts" data-testid="chat-toasts">
            {toasts.map((t) => (
              <div key={t.id} className={`chat-toast chat-toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'} data-testid="chat-toast">
                <span>{t.text}</span>
                <button
                  type="button"
                  className="chat-toast-close"
                  aria-label="Dismiss"
                  onClick={() => setToasts((prev) => prev.filter((x) => x.id !== t.id))}
                >
                  ×
                </button>
              </div>
            ))}
          </div>
        )}
        {!transcriptOnly && queue.length > 0 && (
          <PermissionDialog queue={queue} onAnswer={onAnswer} answering={answering} disabledReason={answerBlocked} />
        )}
        {!transcriptOnly && (
          <Composer
            sessionId={sessionId}
            commands={state.slashCommands}
            disabledReason={disabledReason}
            connected={connected}
            busy={busy}
            onSend={onSend}
            onInterrupt={interrupt}
            onError={(m) => toast('error', m)}
            restore={restore}
          />
        )}
      </div>
    </div>
  );
}

export default ChatView;
