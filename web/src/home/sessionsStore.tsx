//! The signed-in user's session list, polled while it matters: every 2.5 s
//! on the list while the tab is visible, more slowly elsewhere, and while
//! hidden only when desktop notifications are on. Each poll is compared
//! with the last one to raise notifications.

import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError, errorMessage } from '../api/client';
import type { SessionInfo } from '../api/types';
import { notificationsEnabled, showNotice } from '../notify/notifier';
import { detectNotices, indexSessions } from '../notify/transitions';

/** What the store offers. */
interface SessionsStore {
  /** Null until the first answer. */
  sessions: SessionInfo[] | null;
  /** The last poll's error, cleared by the next good one. */
  error: string | null;
  /** Polls now. */
  refresh(): Promise<void>;
  /** Puts one session's new state in the list right away (after an action). */
  upsert(session: SessionInfo): void;
  /** Drops a session from the list (after a purge). */
  remove(id: string): void;
}

const Ctx = createContext<SessionsStore | null>(null);

/** The session store; only inside `SessionsProvider`. */
export function useSessions(): SessionsStore {
  const store = useContext(Ctx);
  if (!store) throw new Error('useSessions outside SessionsProvider');
  return store;
}

/** Poll intervals. */
const POLL_LIST_MS = 2500;
const POLL_ELSEWHERE_MS = 5000;
const POLL_HIDDEN_MS = 15000;

/** Props of `SessionsProvider`. */
interface ProviderProps {
  /** The list is on screen: poll fast. */
  listVisible: boolean;
  /** Opens a session (a notification was clicked). */
  openSession: (id: string) => void;
  children: ReactNode;
}

/** Holds the list and runs the poll. */
export function SessionsProvider({ listVisible, openSession, children }: ProviderProps) {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [hidden, setHidden] = useState(() => document.visibilityState === 'hidden');
  const last = useRef<Map<string, SessionInfo> | null>(null);
  const inFlight = useRef<Promise<void> | null>(null);
  const openRef = useRef(openSession);
  openRef.current = openSession;

  const refresh = useCallback(() => {
    if (inFlight.current) return inFlight.current;
    const p = (async () => {
      try {
        const list = await api.listSessions();
        for (const notice of detectNotices(last.current, list)) showNotice(notice, (id) => openRef.current(id));
        last.current = indexSessions(list);
        setSessions(list);
        setError(null);
      } catch (e) {
        // 401 is handled by the shell (login page); keep the last list otherwise.
        if (!(e instanceof ApiError && e.status === 401)) setError(errorMessage(e));
      } finally {
        inFlight.current = null;
      }
    })();
    inFlight.current = p;
    return p;
  }, []);

  useEffect(() => {
    const onVis = () => {
      const h = document.visibilityState === 'hidden';
      setHidden(h);
      if (!h) void refresh();
    };
    document.addEventListener('visibilitychange', onVis);
    return () => document.removeEventListener('visibilitychange', onVis);
  }, [refresh]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    // Hidden tabs poll only to notify; browsers throttle timers there anyway.
    const interval = hidden ? (notificationsEnabled() ? POLL_HIDDEN_MS : null) : listVisible ? POLL_LIST_MS : POLL_ELSEWHERE_MS;
    if (interval === null) return;
    const id = window.setInterval(() => void refresh(), interval);
    return () => window.clearInterval(id);
  }, [hidden, listVisible, refresh]);

  const upsert = useCallback((s: SessionInfo) => {
    setSessions((list) => {
      if (!list) return [s];
      const i = list.findIndex((x) => x.id === s.id);
      if (i < 0) return [s, ...list];
      const copy = list.slice();
      copy[i] = s;
      return copy;
    });
    // Our own action is not news: keep the notifier's baseline in step.
    last.current?.set(s.id, s);
  }, []);

  const remove = useCallback((id: string) => {
    setSessions((list) => list?.filter((x) => x.id !== id) ?? list);
    last.current?.delete(id);
  }, []);

  const value = useMemo(() => ({ sessions, error, refresh, upsert, remove }), [sessions, error, refresh, upsert, remove]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
