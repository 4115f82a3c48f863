//! The session list's pure logic: order, groups by project, the activity's
//! words, and which sessions a filter keeps.

import type { SessionActivity, SessionInfo } from '../api/types';

/** Most recently active first (the time each row shows); ties by id for a stable order. */
export function byLastActivity(list: readonly SessionInfo[]): SessionInfo[] {
  const at = (s: SessionInfo) => Date.parse(s.last_activity_at) || 0;
  return [...list].sort((a, b) => at(b) - at(a) || a.id.localeCompare(b.id));
}

/** Sessions of one project (a repository's top level, else a directory). */
export interface ProjectGroup {
  /** The project's path. */
  project: string;
  /** Its last path component, for the heading. */
  name: string;
  /** Most recently active first. */
  sessions: SessionInfo[];
}

/** The sessions grouped by project; the group active last comes first. */
export function groupByProject(list: readonly SessionInfo[]): ProjectGroup[] {
  const groups = new Map<string, ProjectGroup>();
  for (const s of byLastActivity(list)) {
    const project = s.project || s.working_dir;
    let g = groups.get(project);
    if (!g) {
      g = { project, name: project.split('/').filter(Boolean).pop() ?? project, sessions: [] };
      groups.set(project, g);
    }
    g.sessions.push(s);
  }
  // Insertion order follows each group's most recent session.
  return [...groups.values()];
}

/** What each activity is called in the list. */
export const ACTIVITY_TEXT: Record<SessionActivity, string> = {
  working: 'Working',
  waiting: 'Waiting for your prompt',
  needs_answer: 'Needs your answer',
  ended: 'Ended',
};

/** The session's activity; older servers without the field: from the state. */
export function activityOf(s: SessionInfo): SessionActivity {
  if (s.activity) return s.activity;
  if (s.state !== 'running' && s.state !== 'starting') return 'ended';
  return s.needs_attention ? 'needs_answer' : 'waiting';
}

/** Whether the filter text `q` (lower case) is in what the row shows. */
export function matchesLocally(s: SessionInfo, q: string): boolean {
  const text = [s.title, s.first_prompt, s.preview?.text, s.working_dir, s.owner, s.mode, s.state, ACTIVITY_TEXT[activityOf(s)], s.model]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
  return text.includes(q);
}

/** Where the grouping choice is remembered. */
export const GROUP_KEY = 'ccweb.sessions.groupByProject';

/** The remembered grouping choice (off by default). */
export function loadGrouping(): boolean {
  try {
    return localStorage.getItem(GROUP_KEY) === '1';
  } catch {
    return false;
  }
}

/** Remembers the grouping choice. */
export function saveGrouping(on: boolean): void {
  try {
    localStorage.setItem(GROUP_KEY, on ? '1' : '0');
  } catch {
    // Storage may be off (private mode): the choice lasts for the page.
  }
}
