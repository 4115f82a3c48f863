//! "Continue an earlier conversation": the conversations Claude Code saved
//! for the chosen directory (`GET api/claude/history`).

import { useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { HistoryConversation } from '../api/types';
import { absoluteTime, relativeTime } from './format';

/** Props of `HistoryPicker`. */
interface HistoryPickerProps {
  workingDir: string;
  /** The chosen conversation id, or '' for a new one. */
  value: string;
  onChange: (sessionId: string) => void;
}

const HISTORY_DEBOUNCE_MS = 250;
const HISTORY_SHOWN = 50;

/** A conversation's one-line label. */
export function conversationLabel(c: HistoryConversation): string {
  const text = (c.title || c.first_prompt || '').replace(/\s+/g, ' ').trim();
  return text || `Conversation ${c.session_id.slice(0, 8)}`;
}

/** Radio list of earlier conversations. */
export function HistoryPicker({ workingDir, value, onChange }: HistoryPickerProps) {
  const [list, setList] = useState<HistoryConversation[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setList(null);
    setError(null);
    onChange('');
    if (!workingDir.startsWith('/')) return;
    const ctl = new AbortController();
    const timer = window.setTimeout(() => {
      api
        .history(workingDir, ctl.signal)
        .then((r) => setList(r.conversations))
        .catch((e: unknown) => {
          if (!ctl.signal.aborted) setError(errorMessage(e));
        });
    }, HISTORY_DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
      ctl.abort();
    };
    // onChange is a state setter of the parent; re-running on it would loop.
  }, [workingDir]);

  // No usable directory yet (the path field is being typed, or is wrong).
  if (!workingDir.startsWith('/')) return <p className="muted small">Choose a directory to see its earlier conversations.</p>;
  if (error) return <p className="muted small">Earlier conversations could not be listed: {error}</p>;
  if (list === null) return <p className="muted small">Looking for earlier conversations…</p>;
  if (list.length === 0) return <p className="muted small" data-testid="history-empty">No earlier conversations in this directory.</p>;

  const now = Date.now();
  return (
    <div className="history-list" role="radiogroup" aria-label="Conversation to continue" data-testid="history-list">
      <label className="history-item">
        <input type="radio" name="resume" checked={value === ''} onChange={() => onChange('')} />
        <span className="history-text">
          <strong>Start a new conversation</strong>
        </span>
      </label>
      {list.slice(0, HISTORY_SHOWN).map((c) => (
        <label className="history-item" key={c.session_id} data-testid="history-item">
          <input type="radio" name="resume" checked={value === c.session_id} onChange={() => onChange(c.session_id)} />
          <span className="history-text">
            <span className="history-title">{conversationLabel(c)}</span>
            <span className="muted small" title={absoluteTime(c.last_modified)}>
              {relativeTime(c.last_modified, now)}
              {c.messages ? ` · ${c.messages} messages` : ''}
              {c.git_branch ? ` · ${c.git_branch}` : ''}
            </span>
          </span>
        </label>
      ))}
    </div>
  );
}
