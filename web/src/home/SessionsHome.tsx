//! The home page: the user's sessions, live (most recently active first,
//! optionally grouped by project), with a search and the new session dialog.

import { useEffect, useRef, useState } from 'react';
import type { SessionInfo } from '../api/types';
import { navigate } from '../router';
import { useSessionActions } from '../session/actions';
import { DeleteDialog, RenameDialog } from '../session/dialogs';
import { Icon } from '../ui/icons';
import { useShortcuts } from '../ui/shortcuts';
import { NewSessionDialog } from './NewSessionDialog';
import { SessionListView } from './SessionListView';
import { SessionRow } from './SessionRow';
import { useSessions } from './sessionsStore';

/** Which dialog is open. */
type Dialog = { kind: 'new' } | { kind: 'rename'; session: SessionInfo } | { kind: 'delete'; session: SessionInfo } | null;

/** The sessions list. */
export function SessionsHome() {
  const { sessions, error, refresh } = useSessions();
  const actions = useSessionActions();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  const filterRef = useRef<HTMLInputElement>(null);

  // Relative times move on even when nothing else changes.
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => window.clearInterval(id);
  }, []);
  useEffect(() => setNow(Date.now()), [sessions]);

  useShortcuts({
    n: () => setDialog({ kind: 'new' }),
    '/': () => filterRef.current?.focus(),
  });

  async function withBusy(id: string, fn: () => Promise<unknown>) {
    setBusyId(id);
    try {
      await fn();
    } finally {
      setBusyId(null);
    }
  }

  const liveCount = sessions?.filter((s) => s.state === 'running' || s.state === 'starting').length ?? 0;

  return (
    <main className="page home-page">
      <div className="page-header">
        <div>
          <h1>Sessions</h1>
          {sessions && sessions.length > 0 && (
            <p className="muted">
              {sessions.length} session{sessions.length === 1 ? '' : 's'}, {liveCount} running
            </p>
          )}
        </div>
        <button type="button" className="button button-primary" onClick={() => setDialog({ kind: 'new' })} data-testid="new-session-button">
          <Icon name="plus" /> New session
        </button>
      </div>

      {error && (
        <div className="banner banner-error" role="alert">
          <span>Could not load sessions: {error}</span>
          <button type="button" className="button button-small" onClick={() => void refresh()}>
            Retry
          </button>
        </div>
      )}

      {sessions === null && !error && <p className="muted loading" aria-busy="true">Loading sessions…</p>}

      {sessions?.length === 0 && (
        <div className="empty-state" data-testid="sessions-empty">
          <Icon name="terminal" size={40} />
          <h2>No sessions yet</h2>
          <p>
            A session runs Claude Code in one of your project directories. Pick <strong>Terminal</strong> for the full
            CLI, or <strong>Chat</strong> for a conversation view with permission prompts as dialogs.
          </p>
          <button type="button" className="button button-primary" onClick={() => setDialog({ kind: 'new' })}>
            <Icon name="plus" /> Start your first session
          </button>
          <p className="muted small">
            Tip: press <kbd>n</kbd> for a new session, <kbd>?</kbd> for all shortcuts.
          </p>
        </div>
      )}

      {sessions && sessions.length > 0 && (
        <SessionListView
          sessions={sessions}
          filterRef={filterRef}
          renderRow={(s) => (
            <SessionRow
              key={s.id}
              session={s}
              now={now}
              busy={busyId === s.id}
              onRename={() => setDialog({ kind: 'rename', session: s })}
              onStop={() => void withBusy(s.id, () => actions.stop(s.id))}
              onResume={() =>
                void withBusy(s.id, async () => {
                  const r = await actions.resume(s.id);
                  if (r) navigate({ page: 'session', id: s.id, readonly: false, tab: 'terminal' });
                })
              }
              onDelete={() => setDialog({ kind: 'delete', session: s })}
            />
          )}
        />
      )}

      {dialog?.kind === 'new' && (
        <NewSessionDialog
          onClose={() => setDialog(null)}
          onCreated={(s) => {
            setDialog(null);
            navigate({ page: 'session', id: s.id, readonly: false, tab: 'terminal' });
          }}
        />
      )}
      {dialog?.kind === 'rename' && (
        <RenameDialog session={dialog.session} onRename={(t) => actions.rename(dialog.session.id, t)} onClose={() => setDialog(null)} />
      )}
      {dialog?.kind === 'delete' && (
        <DeleteDialog session={dialog.session} onDelete={() => actions.purge(dialog.session.id)} onClose={() => setDialog(null)} />
      )}
    </main>
  );
}
