//! What changed between two polls of the session list that a user away
//! from the tab wants to hear about.

import { isLive, type SessionInfo } from '../api/types';

/** Why we notify. */
export type NoticeKind = 'needs_attention' | 'turn_finished' | 'ended';

/** One notification to show. */
export interface SessionNotice {
  kind: NoticeKind;
  sessionId: string;
  title: string;
  body: string;
}

/**
 * Compares the previous poll with the new one. The first poll (`prev` null)
 * reports nothing: a page load must not replay old news. A chat turn's end
 * shows as grown usage (every `result` adds to it).
 */
export function detectNotices(prev: ReadonlyMap<string, SessionInfo> | null, next: readonly SessionInfo[]): SessionNotice[] {
  if (!prev) return [];
  const notices: SessionNotice[] = [];
  for (const s of next) {
    const before = prev.get(s.id);
    if (!before) continue;
    const title = s.title || s.working_dir;
    if (s.needs_attention && !before.needs_attention) {
      notices.push({ kind: 'needs_attention', sessionId: s.id, title, body: 'Claude is waiting for your answer.' });
      continue;
    }
    if (isLive(before.state) && !isLive(s.state)) {
      const how = s.state === 'failed' ? 'failed' : s.exit_code != null ? `ended (exit code ${s.exit_code})` : 'ended';
      notices.push({ kind: 'ended', sessionId: s.id, title, body: `The session ${how}.` });
      continue;
    }
    const grew =
      s.usage.output_tokens > before.usage.output_tokens || s.usage.cost_usd > before.usage.cost_usd;
    if (grew && !s.needs_attention) {
      notices.push({ kind: 'turn_finished', sessionId: s.id, title, body: 'Claude finished its turn.' });
    }
  }
  return notices;
}

/** Indexes a poll by id, for the next comparison. */
export function indexSessions(list: readonly SessionInfo[]): Map<string, SessionInfo> {
  return new Map(list.map((s) => [s.id, s]));
}
