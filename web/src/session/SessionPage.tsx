//! A session's page: its header (title, state, actions) and its body — the
//! terminal or its transcript for terminal sessions, the chat view for
//! chat sessions.

import { lazy, Suspense, useEffect, useState } from 'react';
import { api, ApiError, errorMessage, exportUrl } from '../api/client';
import { isLive, type SessionInfo } from '../api/types';
import { formatCost, formatTokens } from '../home/format';
import { useSessions } from '../home/sessionsStore';
import { navigate, type SessionTab } from '../router';
import { Icon } from '../ui/icons';
import { useShortcuts } from '../ui/shortcuts';
import { displayTitle, useSessionActions } from './actions';
import { AttentionBadge, ModeBadge, StateBadge } from './badges';
import { ShareDialog } from '../share/ShareDialog';
import { DeleteDialog, EndSessionDialog, RenameDialog } from './dialogs';
import { TranscriptView } from './TranscriptView';

// Each view is its own chunk: the list loads without xterm, terminal users
// never download the chat view, and chat users never download xterm.
const ChatView = lazy(() => import('../chat/ChatView').then((m) => ({ default: m.ChatView })));
const TerminalView = lazy(() => import('../terminal/TerminalView').then((m) => ({ default: m.TerminalView })));

/**
 * Whether a terminal session is working on a turn, from the session's
 * `activity` when the server reports it (older servers do not).
 */
function isWorking(session: SessionInfo): boolean {
  return (session as SessionInfo & { activity?: string }).activity === 'working';
}

/** Props of `SessionPage`. */
interface SessionPageProps {
  id: string;
  readonly: boolean;
  tab: SessionTab;
  /** Who looks: the owner may share the session. */
  userName: string;
}

/** The page. */
export function SessionPage({ id, readonly, tab, userName }: SessionPageProps) {
  const { sessions, upsert } = useSessions();
  const actions = useSessionActions();
  const [fetched, setFetched] = useState<SessionInfo | null>(null);
  const [loadError, setLoadError] = useState<ApiError | Error | null>(null);
  const [generation, setGeneration] = useState(0);
  const [resuming, setResuming] = useState(false);
  const [dialog, setDialog] = useState<'rename' | 'delete' | 'share' | 'end' | null>(null);
  /** The chat view says a turn is running. */
  const [chatTurnRunning, setChatTurnRunning] = useState(false);

  // The list poll keeps the session fresh; this covers a session not in
  // the list (an admin watching someone else's) and the first paint.
  useEffect(() => {
    const ctl = new AbortController();
    setFetched(null);
    setLoadError(null);
    api
      .getSession(id, ctl.signal)
      .then(setFetched)
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setLoadError(e instanceof Error ? e : new Error(String(e)));
      });
    return () => ctl.abort();
  }, [id]);

  const inList = sessions?.find((s) => s.id === id);
  const session = inList ?? fetched;
  // Fresh session objects (from the socket, after an action) go to the list
  // when the session is listed there, else to this page only.
  const update = (s: SessionInfo) => (inList ? upsert(s) : setFetched(s));

  useEffect(() => {
    if (session) document.title = `${session.needs_attention ? '(!) ' : ''}${displayTitle(session)} — ccweb`;
  }, [session]);

  const go = (next: Partial<{ readonly: boolean; tab: SessionTab }>) =>
    navigate({ page: 'session', id, readonly: next.readonly ?? readonly, tab: next.tab ?? tab }, true);

  useShortcuts(
    {
      t: () => go({ tab: tab === 'terminal' ? 'transcript' : 'terminal' }),
    },
    session?.mode === 'terminal',
  );

  if (!session) {
    if (loadError) {
      const notFound = loadError instanceof ApiError && loadError.status === 404;
      return (
        <main className="page">
          <div className="empty-state" data-testid="session-not-found">
            <h2>{notFound ? 'Session not found' : 'Could not open the session'}</h2>
            <p className="muted">{notFound ? 'It may have been deleted, or it belongs to someone else.' : errorMessage(loadError)}</p>
            <a className="button button-primary" href="#/">
              Back to sessions
            </a>
          </div>
        </main>
      );
    }
    return (
      <main className="page">
        <p className="muted loading">Opening session…</p>
      </main>
    );
  }

  const live = isLive(session.state);
  const title = displayTitle(session);

  async function resume() {
    setResuming(true);
    const s = await actions.resume(id);
    setResuming(false);
    if (s) {
      setFetched(s);
      setGeneration((g) => g + 1);
    }
  }

  async function endSession() {
    const s = await actions.stop(id);
    if (s) setFetched(s);
    return s;
  }

  // Ending kills the CLI: while it works on a turn, ask first.
  const turnRunning = live && (session.mode === 'chat' ? chatTurnRunning : isWorking(session));

  return (
    <main className={`session-page mode-${session.mode}`} data-testid="session-page" data-session-id={id}>
      <header className="session-header">
        <a className="icon-button" href="#/" aria-label="Back to sessions" title="Back to sessions (g)">
          <Icon name="back" />
        </a>
        <div className="session-heading">
          <div className="session-heading-line">
            <h1 className="session-page-title" title={title}>
              {title}
            </h1>
            <button type="button" className="icon-button small" aria-label="Rename session" title="Rename" onClick={() => setDialog('rename')}>
              <Icon name="pencil" size={16} />
            </button>
          </div>
          <div className="session-heading-meta">
            <ModeBadge mode={session.mode} />
            <StateBadge session={session} />
            {session.needs_attention && <AttentionBadge />}
            <span className="mono muted session-heading-dir" title={session.working_dir}>
              {session.working_dir}
            </span>
            {(session.usage.cost_usd > 0 || session.usage.output_tokens > 0) && (
              <span className="muted" title={`${formatTokens(session.usage.input_tokens)} in, ${formatTokens(session.usage.output_tokens)} out`}>
                {formatCost(session.usage.cost_usd)}
              </span>
            )}
          </div>
        </div>
        <div className="session-toolbar">
          {session.mode === 'terminal' && (
            <div className="segmented" role="tablist" aria-label="View">
              <button type="button" role="tab" aria-selected={tab === 'terminal'} className={tab === 'terminal' ? 'active' : ''} onClick={() => go({ tab: 'terminal' })} data-testid="tab-terminal">
                <Icon name="terminal" size={16} /> <span className="label">Terminal</span>
              </button>
              <button type="button" role="tab" aria-selected={tab === 'transcript'} className={tab === 'transcript' ? 'active' : ''} onClick={() => go({ tab: 'transcript' })} data-testid="tab-transcript">
                <Icon name="chat" size={16} /> <span className="label">Transcript</span>
              </button>
            </div>
          )}
          {session.mode === 'terminal' && tab === 'terminal' && (live || readonly) && (
            <button
              type="button"
              className={`button button-small${readonly ? ' button-active' : ''}`}
              aria-pressed={readonly}
              aria-label="Read-only: watch without typing or resizing"
              title="Watch without typing or resizing"
              onClick={() => go({ readonly: !readonly })}
              data-testid="readonly-toggle"
            >
              <Icon name="eye" size={16} /> <span className="label">Read-only</span>
            </button>
          )}
          {live ? (
            <button
              type="button"
              className="button button-small session-end"
              onClick={() => (turnRunning ? setDialog('end') : void endSession())}
              title="End the session: stops Claude Code (resume it later)"
              data-testid="session-stop"
            >
              <Icon name="power" size={16} /> <span className="label label-always">End session</span>
            </button>
          ) : (
            <button type="button" className="button button-small button-primary" onClick={() => void resume()} disabled={resuming} aria-label="Resume session" data-testid="session-resume">
              <Icon name="play" size={16} /> <span className="label">{resuming ? 'Resuming…' : 'Resume'}</span>
            </button>
          )}
          {/* One group: on a phone they wrap to a row of their own together. */}
          <span className="toolbar-icons">
            {session.owner === userName && (
              <button type="button" className="icon-button" aria-label="Share read-only" title="Share read-only" onClick={() => setDialog('share')} data-testid="session-share">
                <Icon name="share" />
              </button>
            )}
            <a className="icon-button" href={exportUrl(id)} download aria-label="Export as Markdown" title="Export (Markdown)" data-testid="session-export">
              <Icon name="download" />
            </a>
            <button type="button" className="icon-button danger" aria-label="Delete session" title="Delete" onClick={() => setDialog('delete')} data-testid="session-delete">
              <Icon name="trash" />
            </button>
          </span>
        </div>
      </header>

      <div className="session-body">
        {session.mode === 'chat' ? (
          <Suspense fallback={<p className="muted loading">Loading chat…</p>}>
            <ChatView key={generation} sessionId={id} session={session} readonly={readonly || session.owner !== userName} onTurnRunning={setChatTurnRunning} />
          </Suspense>
        ) : tab === 'transcript' ? (
          <TranscriptView session={session} />
        ) : (
          <Suspense fallback={<p className="muted loading">Loading terminal…</p>}>
            <TerminalView
              key={generation}
              sessionId={id}
              readonly={readonly}
              onSession={update}
              onResume={() => void resume()}
              resuming={resuming}
            />
          </Suspense>
        )}
      </div>

      {dialog === 'end' && (
        <EndSessionDialog
          stillRunning={turnRunning}
          onEnd={async () => (await endSession()) !== null}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'share' && <ShareDialog sessionId={id} onClose={() => setDialog(null)} />}
      {dialog === 'rename' && <RenameDialog session={session} onRename={(t) => actions.rename(id, t)} onClose={() => setDialog(null)} />}
      {dialog === 'delete' && (
        <DeleteDialog
          session={session}
          onDelete={async () => {
            const ok = await actions.purge(id);
            if (ok) navigate({ page: 'home' });
            return ok;
          }}
          onClose={() => setDialog(null)}
        />
      )}
    </main>
  );
}
