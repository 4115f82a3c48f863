//! Admin: what the server runs with: its version, the running sessions,
//! how a session's processes are contained, whose identity sessions run
//! as (isolation, shared identity, Claude credentials), and whether each
//! configured session limit is enforced on this host (`GET api/admin/status`).

import { api } from '../api/client';
import type { AdminStatus, CredentialPolicy } from '../api/types';
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

/** What the isolation mode means: whose account, home and credential sessions use. */
export function isolationText(isolation: AdminStatus['isolation']): { title: string; detail: string; shared: boolean } {
  if (isolation?.mode === 'unix') {
    return {
      title: 'Unix isolation: each user’s sessions run as their own Unix account',
      detail: 'Every user has their own home and Claude home; one user’s agent cannot read or change another’s files, conversations or processes.',
      shared: false,
    };
  }
  if (isolation?.allow_shared_identity) {
    return {
      title: 'No isolation, shared identity allowed (allow_shared_identity = true)',
      detail:
        'Every user’s sessions run as this server’s one Unix account, with one Claude home and one credential: everyone’s agent can read and change everyone’s work, settings and conversations. Use it only for people who trust each other; isolation = "unix" keeps users apart.',
      shared: true,
    };
  }
  return {
    title: 'No isolation: one user',
    detail: 'Sessions run as this server’s own Unix account with its Claude home, for one person. A second enabled user is refused unless isolation = "unix" (or allow_shared_identity = true).',
    shared: false,
  };
}

/** What the `user_credentials` policy means for the operator. */
export function credentialPolicyAdminText(policy: CredentialPolicy | undefined): string {
  switch (policy) {
    case 'required':
      return 'Every user must store their own Claude credential (Account page); sessions never get the server’s.';
    case 'disabled':
      return 'Every session uses the server’s Claude credential; users cannot store their own.';
    default:
      return 'Users may store their own Claude credential (Account page); sessions of the others use the server’s.';
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
          <IsolationSection status={status} />
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

/** Whose identity sessions run with: the isolation mode and the credential policy. */
export function IsolationSection({ status }: { status: AdminStatus }) {
  const iso = isolationText(status.isolation);
  return (
    <section className="card-section" aria-labelledby="isolation-heading" data-testid="server-isolation" data-mode={status.isolation?.mode ?? 'none'} data-shared={String(iso.shared)}>
      <h2 id="isolation-heading">Isolation</h2>
      <p>
        <strong>{iso.title}</strong>
      </p>
      <p className={iso.shared ? 'form-error' : 'muted small'} data-testid="server-isolation-detail">
        {iso.detail}
      </p>
      <p className="muted small" data-testid="server-credentials">
        {credentialPolicyAdminText(status.user_credentials)}
      </p>
    </section>
  );
}
