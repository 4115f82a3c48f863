//! A terminal session read as a transcript (`GET …/events`): the prompts
//! and replies of the conversation the CLI writes, refreshed while it runs.
//! Deliberately plain; the chat view renders the full event model.

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { api, errorMessage, sessionApiPath } from '../api/client';
import type { ContentBlock, StoredEvent } from '../api/types';
import { absoluteTime } from '../home/format';

/** Props of `TranscriptView`. */
interface TranscriptViewProps {
  sessionId: string;
  /** The session runs: keep polling for new events. */
  live: boolean;
  /** The session's API path (default `sessionApiPath(sessionId)`; a share link's differs). */
  apiPath?: string;
}

const PAGE_LIMIT = 1000;
/** At most this many pages per load (100 000 events). */
const MAX_PAGES = 100;
const TRANSCRIPT_POLL_MS = 3000;

/** One line of a tool call: its name and the input field that says most. */
export function toolSummary(block: { name: string; input: unknown }): string {
  const input = (block.input ?? {}) as Record<string, unknown>;
  const key = ['command', 'file_path', 'path', 'pattern', 'url', 'description', 'prompt'].find((k) => typeof input[k] === 'string');
  const detail = key ? String(input[key]) : '';
  const short = detail.length > 160 ? `${detail.slice(0, 160)}…` : detail;
  return short ? `${block.name}: ${short}` : block.name;
}

/** What to show of an event; null to skip it. */
type Item =
  | { kind: 'user'; text: string; by?: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'thinking'; text: string }
  | { kind: 'tool'; text: string }
  | { kind: 'note'; text: string; error?: boolean };

/** Turns a stored event into display items. */
export function eventItems(ev: StoredEvent['event']): Item[] {
  switch (ev.kind) {
    case 'user_message': {
      const e = ev as { text: string; by?: string };
      return e.text ? [{ kind: 'user', text: e.text, by: e.by }] : [];
    }
    case 'assistant_message': {
      const e = ev as { content: ContentBlock[]; error?: string };
      const items: Item[] = [];
      for (const block of e.content ?? []) {
        if (block.type === 'text' && typeof block.text === 'string' && block.text.trim()) items.push({ kind: 'assistant', text: block.text });
        else if (block.type === 'thinking' && typeof block.thinking === 'string' && block.thinking.trim())
          items.push({ kind: 'thinking', text: block.thinking });
        else if (block.type === 'tool_use' && typeof block.name === 'string') items.push({ kind: 'tool', text: toolSummary(block as { name: string; input: unknown }) });
      }
      if (e.error) items.push({ kind: 'note', text: `API error: ${e.error}`, error: true });
      return items;
    }
    case 'result': {
      const e = ev as { is_error: boolean; cost_usd: number; subtype: string };
      return e.is_error ? [{ kind: 'note', text: `Turn ended with an error (${e.subtype})`, error: true }] : [];
    }
    case 'error': {
      const e = ev as { message: string };
      return [{ kind: 'note', text: e.message, error: true }];
    }
    case 'system': {
      const e = ev as { subtype: string };
      return e.subtype === 'imported' ? [{ kind: 'note', text: 'Earlier conversation imported above.' }] : [];
    }
    default:
      return [];
  }
}

/** The transcript. */
export function TranscriptView({ sessionId, live, apiPath }: TranscriptViewProps) {
  const path = apiPath ?? sessionApiPath(sessionId);
  const [events, setEvents] = useState<StoredEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const lastSeq = useRef(0);
  const loading = useRef(false);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  const load = useCallback(async () => {
    if (loading.current) return;
    loading.current = true;
    try {
      const fresh: StoredEvent[] = [];
      for (let page = 0; page < MAX_PAGES; page++) {
        const resp = await api.eventsAt(path, lastSeq.current, PAGE_LIMIT);
        fresh.push(...resp.events);
        if (resp.events.length > 0) lastSeq.current = resp.events[resp.events.length - 1].seq;
        if (resp.events.length < PAGE_LIMIT) break;
      }
      setEvents((old) => (fresh.length ? [...(old ?? []), ...fresh] : (old ?? [])));
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      loading.current = false;
    }
  }, [path]);

  useEffect(() => {
    lastSeq.current = 0;
    setEvents(null);
    void load();
  }, [load]);

  useEffect(() => {
    if (!live) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, TRANSCRIPT_POLL_MS);
    return () => window.clearInterval(id);
  }, [live, load]);

  // Follow new events while the reader is at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [events]);

  const rows = (events ?? []).flatMap((e) => eventItems(e.event).map((item, i) => ({ key: `${e.seq}-${i}`, at: e.at, item })));

  return (
    <div
      className="transcript"
      ref={scroller}
      data-testid="transcript"
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      {error && (
        <div className="banner banner-error" role="alert">
          <span>Could not load the transcript: {error}</span>
          <button type="button" className="button button-small" onClick={() => void load()}>
            Retry
          </button>
        </div>
      )}
      {events === null && !error && <p className="muted loading">Loading transcript…</p>}
      {events !== null && rows.length === 0 && (
        <div className="empty-state small-empty" data-testid="transcript-empty">
          <h2>No transcript yet</h2>
          <p className="muted">
            The transcript follows the conversation file Claude Code writes. It shows up here after the first prompt.
          </p>
        </div>
      )}
      <ol className="transcript-list">
        {rows.map(({ key, at, item }) => (
          <li key={key} className={`t-item t-${item.kind}${item.kind === 'note' && item.error ? ' t-error' : ''}`} title={absoluteTime(at)}>
            {item.kind === 'user' && <div className="t-label">{item.by ?? 'You'}</div>}
            {item.kind === 'assistant' && <div className="t-label">Claude</div>}
            {item.kind === 'thinking' ? (
              <details>
                <summary>Thinking</summary>
                <div className="t-text">{item.text}</div>
              </details>
            ) : (
              <div className={item.kind === 'tool' ? 't-text mono' : 't-text'}>{item.text}</div>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
