//! A terminal session read as a transcript: the events the server takes from
//! the CLI's own conversation file (`GET …/events`), drawn by the chat view's
//! renderer — Markdown, tool cards, diffs — read-only, and refreshed while
//! the session runs (the chat view polls for a terminal session).

import { lazy, Suspense } from 'react';
import type { SessionInfo } from '../api/types';

// The chat view is its own chunk (SessionPage loads it the same way).
const ChatView = lazy(() => import('../chat/ChatView').then((m) => ({ default: m.ChatView })));

/** Props of `TranscriptView`. */
interface TranscriptViewProps {
  /** A terminal session (the chat view shows its transcript, read-only). */
  session: SessionInfo;
  /** The session's API path (default its own; a share link's differs). */
  apiPath?: string;
}

/** The transcript. */
export function TranscriptView({ session, apiPath }: TranscriptViewProps) {
  return (
    <div className="transcript" data-testid="transcript">
      <Suspense fallback={<p className="muted loading">Loading transcript…</p>}>
        <ChatView sessionId={session.id} session={session} readonly apiPath={apiPath} />
      </Suspense>
    </div>
  );
}
