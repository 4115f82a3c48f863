//! The session actions (rename, stop, resume, delete), shared by the list
//! and the session page: call the API, update the list, report errors.

import { useCallback } from 'react';
import { api, errorMessage } from '../api/client';
import type { SessionInfo } from '../api/types';
import { useSessions } from '../home/sessionsStore';
import { useToasts } from '../ui/toasts';

/** Actions on sessions; each resolves to the new session, or null when it failed (a toast says why). */
export function useSessionActions() {
  const { upsert, remove } = useSessions();
  const toasts = useToasts();

  const run = useCallback(
    async <T,>(what: string, fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn();
      } catch (e) {
        toasts.error(`${what}: ${errorMessage(e)}`);
        return null;
      }
    },
    [toasts],
  );

  const rename = useCallback(
    async (id: string, title: string) => {
      const s = await run('Could not rename', () => api.renameSession(id, title));
      if (s) upsert(s);
      return s;
    },
    [run, upsert],
  );

  const stop = useCallback(
    async (id: string) => {
      const s = await run('Could not end the session', () => api.stopSession(id));
      if (s) upsert(s);
      return s;
    },
    [run, upsert],
  );

  const resume = useCallback(
    async (id: string) => {
      const s = await run('Could not resume', () => api.resumeSession(id));
      if (s) upsert(s);
      return s;
    },
    [run, upsert],
  );

  const purge = useCallback(
    async (id: string): Promise<boolean> => {
      const ok = await run('Could not delete', () => api.deleteSession(id).then(() => true));
      if (ok) {
        remove(id);
        toasts.info('Session deleted.');
      }
      return ok === true;
    },
    [run, remove, toasts],
  );

  return { rename, stop, resume, purge };
}

/** Validates a title as the server does (1–200 characters, no control characters). */
export function titleProblem(title: string): string | null {
  const t = title.trim();
  if (!t) return 'The title cannot be empty.';
  if ([...t].length > 200) return 'At most 200 characters.';
  if (/[\u0000-\u001f\u007f]/.test(t)) return 'No control characters, please.';
  return null;
}

/** The title to show for a session. */
export function displayTitle(s: SessionInfo): string {
  return s.title?.trim() || s.working_dir.split('/').filter(Boolean).pop() || s.working_dir;
}
