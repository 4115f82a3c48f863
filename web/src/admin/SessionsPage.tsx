//! Admin: everyone's sessions (`GET api/claude/sessions?all=true`), live,
//! with their owners; filter by user, watch one read-only, end one.

import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, errorMessage } from '../api/client';
import { useLoaded } from '../api/useLoaded';
import type { SessionInfo, User } from '../api/types';
import { displayTitle } from '../session/actions';
import { ConfirmDialog } from '../ui/Modal';
import { useToasts } from '../ui/toasts';
import { SessionListView } from '../home/SessionListView';
import { SessionRow } from '../home/SessionRow';
import { AdminNav } from './AdminNav';

/** How often the list is fetched again while the page is open. */
const POLL_MS = 5000;

/** Everyone's sessions. */
const loadAll = (signal?: AbortSignal) => api.searchSessions({ all: true }, signal);

/** The page. */
export function SessionsPage({ me, owner: initialOwner = '' }: { me: User; owner?: string }) {
  const toasts = useToasts();
  const { value: sessions, setValue: setSessions, error, reload } = useLoaded(loadAll);
  const [owner, setOwner] = useState(initialOwner);
  const [ending, setEnding] = useState<SessionInfo | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const id = window.setInterval(() => void reload(), POLL_MS);
    return () => window.clearInterval(id);
  }, [reload]);
  useEffect(() => setNow(Date.now()), [sessions]);

  const owners = useMemo(() => [...new Set([...(sessions ?? []).map((s) => s.owner), ...(owner ? [owner] : [])])].sort(), [sessions, owner]);
  const shown = useMemo(() => (sessions ?? []).filter((s) => !owner || s.owner === owner), [sessions, owner]);
  const running = shown.filter((s) => s.state === 'running' || s.state === 'starting').length;

  const end = useCallback(
    async (s: SessionInfo) => {
      setBusyId(s.id);
      try {
        const ended = await api.stopSession(s.id);
        setSessions((list) => list?.map((x) => (x.id === ended.id ? ended : x)) ?? null);
        toasts.info(`${s.owner}’s session “${displayTitle(s)}” ended.`);
      } catch (e) {
        toasts.error(`Could not end it: ${errorMessage(e)}`);
      } finally {
        setBusyId(null);
        setEnding(null);
      }
    },
    [setSessions, toasts],
  );

  return (
    <main className="page admin-page" data-testid="admin-sessions-page">
      <div className="page-header">
        <div>
          <h1>All sessions</h1>
          <AdminNav current="admin_sessions" />
          {sessions && (
            <p className="muted" data-testid="admin-sessions-count">
              {shown.length} session{shown.length === 1 ? '' : 's'}, {running} running
            </p>
          )}
        </div>
      </div>
      {error && (
        <div className="banner banner-error" role="alert">
          <span>Could not load sessions: {error}</span>
          <button type="button" className="button button-small" onClick={() => void reload()}>
            Retry
          </button>
        </div>
      )}
      {sessions === null && !error && <p className="muted loading">Loading sessions…</p>}
      {sessions?.length === 0 && <p className="muted">Nobody has started a session yet.</p>}
      {sessions && sessions.length > 0 && (
        <SessionListView
          sessions={shown}
          all
          extra={
            <label className="owner-filter">
              <span className="sr-only">Owner</span>
              <select value={owner} onChange={(e) => setOwner(e.target.value)} data-testid="admin-sessions-owner">
                <option value="">All users</option>
                {owners.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </label>
          }
          renderRow={(s) => (
            <SessionRow
              key={s.id}
              session={s}
              now={now}
              busy={busyId === s.id}
              showOwner
              watch={s.owner !== me.name}
              onStop={() => setEnding(s)}
            />
          )}
        />
      )}
      {ending && (
        <ConfirmDialog
          title={`End ${ending.owner}’s session?`}
          danger
          busy={busyId === ending.id}
          confirmLabel="End session"
          message={
            <p>
              “{displayTitle(ending)}” stops now: Claude’s process ends, {ending.owner} sees it ended, and the audit log records
              that you ended it. Its transcript stays.
            </p>
          }
          onCancel={() => setEnding(null)}
          onConfirm={() => void end(ending)}
        />
      )}
    </main>
  );
}
