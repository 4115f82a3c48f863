//! Admin: what the server runs with: its version, the running sessions,
//! how a session's processes are contained, and whether each configured
//! session limit is enforced on this host (`GET api/admin/status`).

import { api } from '../api/client';
import { useLoaded } from '../api/useLoaded';
import { AdminNav } from './AdminNav';

/** What a containment kind means to an operator. */
export function containmentText(kind: string): string {
  switch (kind) {
    case 'cgroup-v2':
      return 'Each session has its own cgroup: a stop ends every process it started.';
    case 'process-tree':
      return 'Sessions are tracked by their process tree (no writable cgroup v2): a daemon whose parent exited is only ended at shutdown.';
    default:
      return kind;
  }
}

/** Whether a `session_limits` line says the limit is not enforced. */
export function limitMissing(line: string): boolean {
  return line.includes('NOT enforced');
}

/** The page. */
export function ServerPage() {
  const { value: status, error, reload } = useLoaded(api.adminStatus);

  return (
    <main className="page admin-page" data-testid="server-page">
      <div className="page-header">
        <div>
          <h1>Server</h1>
          <AdminNav current="admin_server" />
        </div>
        <button type="button" className="button" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      {error && (
        <div className="banner banner-error" role="alert">
          <span>Could not load the server status: {error}</span>
        </div>
      )}
      {status === null && !error && <p className="muted loading">Loading…</p>}
      {status && (
        <>
          <section className="card-section" aria-labelledby="server-heading">
            <h2 id="server-heading">ccweb {status.version}</h2>
            <p data-testid="server-live">
              {status.live_sessions} running {status.live_sessions === 1 ? 'session' : 'sessions'}
            </p>
            <p className="muted small" data-testid="server-containment" data-kind={status.containment}>
              {containmentText(status.containment)}
            </p>
          </section>
          <section className="card-section" aria-labelledby="limits-heading">
            <h2 id="limits-heading">Session limits</h2>
            {status.session_limits.length === 0 ? (
              <p className="muted small">None configured (session_max_processes and session_max_memory_bytes are 0).</p>
            ) : (
              <ul className="server-limits">
                {status.session_limits.map((line) => (
                  <li key={line} className={limitMissing(line) ? 'form-error' : undefined} data-testid="server-limit" data-enforced={!limitMissing(line)}>
                    <code>{line}</code>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </main>
  );
}
