//! Admin: the audit log, newest first, with filters (user, action or
//! `prefix.*`, outcome, a range of days) and "Load older". One table; on phones CSS turns
//! its rows into stacked cards (each cell labelled by `data-label`).

import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, errorMessage } from '../api/client';
import { AUDIT_OUTCOMES, type AuditEntry } from '../api/types';
import { formatDateTime } from '../account/tokens';
import { AdminNav } from './AdminNav';
import { actionFilterProblem, type AuditFilters, auditQuery, dateRangeProblem, detailText, NO_FILTERS, summarizeDetail } from './audit';

/** Actions offered as suggestions in the action filter. */
const ACTION_SUGGESTIONS = [
  'login',
  'logout',
  'logout_all',
  'token.*',
  'token.create',
  'token.revoke',
  'session.*',
  'admin.*',
  'admin.user.create',
  'admin.user.update',
  'cli.*',
  'permission.decision',
];

/** The page. */
export function AuditPage() {
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const ctlRef = useRef<AbortController | null>(null);
  const actionProblem = actionFilterProblem(draft.action);
  const rangeProblem = dateRangeProblem(draft);

  const load = useCallback(async (f: AuditFilters, before: number | null) => {
    ctlRef.current?.abort();
    const ctl = new AbortController();
    ctlRef.current = ctl;
    setLoading(true);
    try {
      const page = await api.audit(auditQuery(f, before), ctl.signal);
      setEntries((old) => (before === null ? page.entries : [...(old ?? []), ...page.entries]));
      setNextBefore(page.next_before);
      setError(null);
    } catch (e) {
      if (!ctl.signal.aborted) setError(errorMessage(e));
    } finally {
      if (ctlRef.current === ctl) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(filters, null);
  }, [filters, load]);
  useEffect(() => () => ctlRef.current?.abort(), []);

  function apply(e: FormEvent) {
    e.preventDefault();
    if (actionProblem || rangeProblem) return;
    // A new object even when equal: "Apply" also refreshes.
    setFilters({ ...draft });
  }

  const filtered = filters.user || filters.action || filters.outcome || filters.from || filters.to;

  return (
    <main className="page admin-page" data-testid="audit-page">
      <div className="page-header">
        <div>
          <h1>Audit log</h1>
          <AdminNav current="admin_audit" />
        </div>
      </div>

      <form className="audit-filters" onSubmit={apply} aria-label="Filter the audit log">
        <label className="field">
          <span>User</span>
          <input value={draft.user} onChange={(e) => setDraft({ ...draft, user: e.target.value })} placeholder="name or id" autoCapitalize="none" spellCheck={false} data-testid="audit-user" />
        </label>
        <label className="field">
          <span>Action</span>
          <input
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            placeholder="e.g. login or session.*"
            list="audit-actions"
            autoCapitalize="none"
            spellCheck={false}
            aria-invalid={!!actionProblem}
            aria-describedby={actionProblem ? 'audit-action-problem' : undefined}
            data-testid="audit-action"
          />
          <datalist id="audit-actions">
            {ACTION_SUGGESTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span>Outcome</span>
          <select value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })} data-testid="audit-outcome">
            <option value="">Any</option>
            {AUDIT_OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>From</span>
          <input type="date" value={draft.from} max={draft.to || undefined} onChange={(e) => setDraft({ ...draft, from: e.target.value })} aria-invalid={!!rangeProblem} data-testid="audit-from" />
        </label>
        <label className="field">
          <span>To</span>
          <input
            type="date"
            value={draft.to}
            min={draft.from || undefined}
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
            aria-invalid={!!rangeProblem}
            aria-describedby={rangeProblem ? 'audit-range-problem' : undefined}
            data-testid="audit-to"
          />
        </label>
        <div className="audit-filter-buttons">
          <button type="submit" className="button button-primary" disabled={!!actionProblem || !!rangeProblem} data-testid="audit-apply">
            Apply
          </button>
          {filtered && (
            <button
              type="button"
              className="button"
              onClick={() => {
                setDraft(NO_FILTERS);
                setFilters(NO_FILTERS);
              }}
              data-testid="audit-clear"
            >
              Clear
            </button>
          )}
        </div>
        {actionProblem && (
          <p className="form-error audit-filter-problem" id="audit-action-problem">
            {actionProblem}
          </p>
        )}
        {rangeProblem && (
          <p className="form-error audit-filter-problem" id="audit-range-problem">
            {rangeProblem}
          </p>
        )}
      </form>

      {error && (
        <div className="banner banner-error" role="alert" data-testid="audit-error">
          <span>Could not load the audit log: {error}</span>
          <button type="button" className="button button-small" onClick={() => void load(filters, null)}>
            Retry
          </button>
        </div>
      )}
      {entries === null && !error && <p className="muted loading">Loading the audit log…</p>}
      {entries?.length === 0 && <p className="muted small-empty" data-testid="audit-empty">{filtered ? 'No entry matches these filters.' : 'The audit log is empty.'}</p>}
      {entries && entries.length > 0 && (
        <table className="audit-table" data-testid="audit-table" aria-busy={loading}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">User</th>
              <th scope="col">Source</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Target</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <AuditRow key={e.id} entry={e} />
            ))}
          </tbody>
        </table>
      )}
      {entries && entries.length > 0 && (
        <div className="load-more">
          {nextBefore !== null ? (
            <button type="button" className="button" disabled={loading} onClick={() => void load(filters, nextBefore)} data-testid="audit-older">
              {loading ? 'Loading…' : 'Load older'}
            </button>
          ) : (
            <p className="muted small">That is the oldest entry{filtered ? ' matching these filters' : ''}.</p>
          )}
        </div>
      )}
    </main>
  );
}

/** One entry. */
function AuditRow({ entry: e }: { entry: AuditEntry }) {
  const detail = summarizeDetail(e.detail);
  return (
    <tr data-testid="audit-row" data-action={e.action} data-outcome={e.outcome}>
      <td data-label="Time" className="nowrap">
        <time dateTime={e.at}>{formatDateTime(e.at)}</time>
      </td>
      <td data-label="User">{e.user_name ?? (e.user_id != null ? String(e.user_id) : '—')}</td>
      <td data-label="Source" className="mono small">
        {e.source || '—'}
      </td>
      <td data-label="Action" className="mono">
        {e.action}
      </td>
      <td data-label="Outcome">
        <span className={`badge outcome-${e.outcome}`}>{e.outcome}</span>
      </td>
      <td data-label="Target" className="mono small audit-target" title={e.target ?? undefined}>
        {e.target || '—'}
      </td>
      <td data-label="Detail" className="small audit-detail" title={detailText(e.detail) || undefined}>
        {detail || '—'}
      </td>
    </tr>
  );
}
