//! A list of sessions with a search field (what rows show, matched here at
//! once, and the conversations, searched on the server) and a remembered
//! "group by project" toggle. The home page and the admins' all-sessions
//! page both use it, each with its own rows.

import { type ReactNode, type RefObject, useEffect, useMemo, useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { SessionInfo } from '../api/types';
import { Icon } from '../ui/icons';
import { byLastActivity, groupByProject, loadGrouping, matchesLocally, saveGrouping } from './sessionList';

/** How long typing pauses before the server is asked. */
const SEARCH_DEBOUNCE_MS = 250;

/** Props of `SessionListView`. */
interface SessionListViewProps {
  sessions: SessionInfo[];
  /** Search everyone's sessions (admins). */
  all?: boolean;
  /** One row. */
  renderRow: (s: SessionInfo) => ReactNode;
  /** Focus target of the `/` shortcut. */
  filterRef?: RefObject<HTMLInputElement | null>;
  /** More controls beside the search field. */
  extra?: ReactNode;
}

/** Ids of the sessions whose conversation matches `q` (null while none is asked or known). */
function useServerSearch(q: string, all: boolean): { ids: Set<string> | null; error: string | null } {
  const [ids, setIds] = useState<Set<string> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setIds(null);
    setError(null);
    if (!q) return;
    const ctl = new AbortController();
    const timer = window.setTimeout(() => {
      api
        .searchSessions({ all, q }, ctl.signal)
        .then((list) => setIds(new Set(list.map((s) => s.id))))
        .catch((e) => {
          if (!ctl.signal.aborted) setError(errorMessage(e));
        });
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
      ctl.abort();
    };
  }, [q, all]);
  return { ids, error };
}

/** The list, its search and its grouping. */
export function SessionListView({ sessions, all = false, renderRow, filterRef, extra }: SessionListViewProps) {
  const [filter, setFilter] = useState('');
  const [grouped, setGrouped] = useState(loadGrouping);
  const q = filter.trim();
  const { ids: found, error: searchError } = useServerSearch(q, all);

  const shown = useMemo(() => {
    const lower = q.toLowerCase();
    const list = lower ? sessions.filter((s) => matchesLocally(s, lower) || found?.has(s.id)) : sessions;
    return byLastActivity(list);
  }, [sessions, q, found]);

  const toggleGrouping = () => {
    saveGrouping(!grouped);
    setGrouped(!grouped);
  };

  return (
    <>
      <div className="filter-bar session-list-tools">
        <label className="search-field">
          <Icon name="search" size={16} />
          <span className="sr-only">Search sessions</span>
          <input
            ref={filterRef}
            type="search"
            placeholder="Search titles, directories, conversations…"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                setFilter('');
                e.currentTarget.blur();
              }
            }}
            maxLength={200}
            data-testid="session-filter"
          />
        </label>
        {extra}
        <button
          type="button"
          className={`button button-small${grouped ? ' button-active' : ''}`}
          aria-pressed={grouped}
          onClick={toggleGrouping}
          title="Group the sessions by repository or directory"
          data-testid="session-group-toggle"
        >
          <Icon name="folder" size={14} /> Group by project
        </button>
      </div>
      {q && found === null && !searchError && (
        <p className="muted small" aria-live="polite" data-testid="session-searching">
          Searching conversations…
        </p>
      )}
      {searchError && (
        <p className="muted small" role="alert">
          Could not search the conversations: {searchError}
        </p>
      )}
      {shown.length === 0 && q && found !== null && <p className="muted empty-filter">No session matches “{filter}”.</p>}
      {shown.length > 0 &&
        (grouped ? (
          <div className="session-groups" data-testid="session-groups">
            {groupByProject(shown).map((g) => (
              <section key={g.project} className="session-group" data-testid="session-group" data-project={g.project}>
                <h2 className="session-group-title" title={g.project}>
                  <Icon name="folder" size={16} /> {g.name}
                  <span className="muted small mono">
                    <bdi>{g.project}</bdi>
                  </span>
                </h2>
                <ul className="session-list">{g.sessions.map(renderRow)}</ul>
              </section>
            ))}
          </div>
        ) : (
          <ul className="session-list" data-testid="session-list">
            {shown.map(renderRow)}
          </ul>
        ))}
    </>
  );
}
