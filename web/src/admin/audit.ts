//! Pure helpers of the audit log page: filters → the query of
//! `GET api/admin/audit`, and one-line summaries of an entry's detail.

import type { AuditQuery } from '../api/client';

/** What the filter form holds. */
export interface AuditFilters {
  /** A user name or id. */
  user: string;
  /** Exact action, or `prefix.*`. */
  action: string;
  /** An outcome, or '' for any. */
  outcome: string;
  /** First day shown (`YYYY-MM-DD`, the browser's time zone), or ''. */
  from: string;
  /** Last day shown, inclusive, or ''. */
  to: string;
}

/** No filter. */
export const NO_FILTERS: AuditFilters = { user: '', action: '', outcome: '', from: '', to: '' };

/** The start of a local calendar day (`YYYY-MM-DD`) plus `days`, as RFC 3339 UTC; null if not a date. */
export function localDayStart(day: string, days = 0): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Why a date range would show nothing, or null. */
export function dateRangeProblem(filters: Pick<AuditFilters, 'from' | 'to'>): string | null {
  if (filters.from && filters.to && filters.from > filters.to) return 'The first day is after the last one';
  return null;
}

/** Entries per page. */
export const AUDIT_PAGE_SIZE = 50;

/** The query for one page: trimmed filters, empty ones left out, `before` to continue. */
export function auditQuery(filters: AuditFilters, before: number | null = null, limit = AUDIT_PAGE_SIZE): AuditQuery {
  const q: AuditQuery = { limit };
  const user = filters.user.trim();
  const action = filters.action.trim();
  if (user) q.user = user;
  if (action) q.action = action;
  if (filters.outcome) q.outcome = filters.outcome;
  // Whole local days: from the first day's midnight to the midnight after the last.
  const since = localDayStart(filters.from);
  const until = localDayStart(filters.to, 1);
  if (since) q.since = since;
  if (until) q.until = until;
  if (before !== null) q.before = before;
  return q;
}

/** Why an action filter would be refused, or null: `name` or `prefix.*`. */
export function actionFilterProblem(action: string): string | null {
  const a = action.trim();
  if (!a) return null;
  if (/^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/.test(a)) return null;
  return 'An action such as login, token.create, or a prefix such as session.*';
}

const MAX_SUMMARY_CHARS = 160;

function valueText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** `detail` as one short line: `key: value, …` for objects, cut with an ellipsis. */
export function summarizeDetail(detail: unknown, max = MAX_SUMMARY_CHARS): string {
  let text: string;
  if (detail === null || detail === undefined) text = '';
  else if (typeof detail === 'object' && !Array.isArray(detail)) {
    text = Object.entries(detail as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => `${k}: ${valueText(v)}`)
      .join(', ');
  } else text = valueText(detail);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The full detail for a tooltip or an expanded view. */
export function detailText(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  return typeof detail === 'string' ? detail : JSON.stringify(detail, null, 2);
}
