//! A session opened through a share link (`#/share/<token>`): read-only,
//! through `api/shared/<token>` — the same views as the owner's page, with
//! no actions.

import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { api, ApiError, errorMessage, sharedApiPath } from '../api/client';
import type { SessionInfo } from '../api/types';
import { navigate, type SessionTab } from '../router';
import { displayTitle } from '../session/actions';
import { ModeBadge, StateBadge } from '../session/badges';
import { TranscriptView } from '../session/TranscriptView';
import { Icon } from '../ui/icons';

const ChatView = lazy(() => import('../chat/ChatView').then((m) => ({ default: m.ChatView })));
const TerminalView = lazy(() => import('../terminal/TerminalView').then((m) => ({ default: m.TerminalView })));

/** Props of `SharedSessionPage`. */
interface SharedSessionPageProps {
  token: string;
  tab: SessionTab;
}

/** The page. */
export function SharedSessionPage({ token, tab }: SharedSessionPageProps) {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const apiPath = sharedApiPath(token);
  const fetchSession = useCallback(() => api.getShared(token), [token]);

  useEffect(() => {
    const ctl = new AbortController();
    setSession(null);
    setLoadError(null);
    api.getShared(token, ctl.signal).then(setSession, (e: unknown) => {
      if (!ctl.signal.aborted) setLoadError(e);
    });
    return () => ctl.abort();
  }, [token]);

  useEffect(() => {
    if (session) document.title = `${displayTitle(session)} (shared) — ccweb`;
  }, [session]);

  if (!session) {
    if (loadError) {
      const gone = loadError instanceof ApiError && loadError.status === 404;
      return (
        <main className="page">
          <div className="empty-state" data-testid="share-not-found">
            <h2>{gone ? 'This link does not work' : 'Could not open the shared session'}</h2>
            <p className="muted">{gone ? 'It may have been revoked or expired, or the session was deleted.' : errorMessage(loadError)}</p>
            <a className="button button-primary" href="#/">
              Back to sessions
            </a>
          </div>
        </main>
      );
    }
    return (
      <main className="page">
        <p className="muted loading">Opening the shared session…</p>
      </main>
    );
  }

  const title = displayTitle(session);
  const go = (next: SessionTab) => navigate({ page: 'share', token, tab: next }, true);

  return (
    <main className={`session-page mode-${session.mode}`} data-testid="shared-session-page">
      <header className="session-header">
        <a className="icon-button" href="#/" aria-label="Back to sessions" title="Back to sessions (g)">
          <Icon name="back" />
        </a>
        <div className="session-heading">
          <div className="session-heading-line">
            <h1 className="session-page-title" title={title}>
              {title}
            </h1>
          </div>
          <div className="session-heading-meta">
            <span className="badge" data-testid="shared-badge">
              <Icon name="eye" size={14} /> Shared by {session.owner} · read-only
            </span>
            <ModeBadge mode={session.mode} />
            <StateBadge session={session} />
          </div>
        </div>
        {session.mode === 'terminal' && (
          <div className="session-toolbar">
            <div className="segmented" role="tablist" aria-label="View">
              <button type="button" role="tab" aria-selected={tab === 'terminal'} className={tab === 'terminal' ? 'active' : ''} onClick={() => go('terminal')}>
                <Icon name="terminal" size={16} /> <span className="label">Terminal</span>
              </button>
              <button type="button" role="tab" aria-selected={tab === 'transcript'} className={tab === 'transcript' ? 'active' : ''} onClick={() => go('transcript')}>
                <Icon name="chat" size={16} /> <span className="label">Transcript</span>
              </button>
            </div>
          </div>
        )}
      </header>

      <div className="session-body">
        {session.mode === 'chat' ? (
          <Suspense fallback={<p className="muted loading">Loading chat…</p>}>
            <ChatView sessionId={session.id} session={session} readonly apiPath={apiPath} />
          </Suspense>
        ) : tab === 'transcript' ? (
          <TranscriptView session={session} apiPath={apiPath} />
        ) : (
          <Suspense fallback={<p className="muted loading">Loading terminal…</p>}>
            <TerminalView sessionId={session.id} readonly apiPath={apiPath} fetchSession={fetchSession} onSession={setSession} resuming={false} />
          </Suspense>
        )}
      </div>
    </main>
  );
}
