//! The user's API tokens: the list (revoked and expired ones too), a new
//! token, and revoking one after a confirmation.

import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import { useLoaded } from '../api/useLoaded';
import type { ApiToken } from '../api/types';
import { relativeTime } from '../home/format';
import { Icon } from '../ui/icons';
import { ConfirmDialog } from '../ui/Modal';
import { useToasts } from '../ui/toasts';
import { CreateTokenDialog } from './CreateTokenDialog';
import { formatDateTime, tokenStatus } from './tokens';

/** The section. */
export function TokensSection() {
  const toasts = useToasts();
  const { value: tokens, error, reload: load } = useLoaded(api.listTokens);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [busy, setBusy] = useState(false);

  async function revoke(token: ApiToken) {
    setBusy(true);
    try {
      await api.revokeToken(token.id);
      toasts.info(`Token “${token.name}” revoked.`);
      setRevoking(null);
      await load();
    } catch (e) {
      toasts.error(`Could not revoke the token: ${errorMessage(e)}`);
    } finally {
      setBusy(false);
    }
  }

  const now = Date.now();

  return (
    <section className="card-section" aria-labelledby="tokens-heading" data-testid="tokens-section">
      <div className="section-header">
        <div>
          <h2 id="tokens-heading">API tokens</h2>
          <p className="muted small">For scripts: send one as a Bearer token. A read token can only list and watch.</p>
        </div>
        <button type="button" className="button button-primary" onClick={() => setCreating(true)} data-testid="token-new">
          <Icon name="plus" /> New token
        </button>
      </div>
      {error && (
        <div className="banner banner-error" role="alert">
          <span>Could not load tokens: {error}</span>
          <button type="button" className="button button-small" onClick={() => void load()}>
            Retry
          </button>
        </div>
      )}
      {tokens === null && !error && <p className="muted loading">Loading tokens…</p>}
      {tokens?.length === 0 && <p className="muted small-empty">No tokens yet.</p>}
      {tokens && tokens.length > 0 && (
        <ul className="item-list" data-testid="token-list">
          {tokens.map((t) => {
            const status = tokenStatus(t, now);
            return (
              <li key={t.id} className={`item-row${status === 'active' ? '' : ' item-row-inactive'}`} data-testid="token-row" data-token-name={t.name} data-status={status}>
                <div className="item-main">
                  <div className="item-title">
                    <strong>{t.name}</strong>
                    <span className="badge">{t.scope === 'read' ? 'read' : 'full'}</span>
                    {status !== 'active' && <span className="badge badge-muted" data-testid="token-status">{status}</span>}
                  </div>
                  <div className="item-meta muted small">
                    <span title={formatDateTime(t.created_at)}>Created {relativeTime(t.created_at, now)}</span>
                    <span>{t.revoked_at ? `Revoked ${formatDateTime(t.revoked_at)}` : t.expires_at ? `Expires ${formatDateTime(t.expires_at)}` : 'Never expires'}</span>
                    <span title={formatDateTime(t.last_used_at)}>{t.last_used_at ? `Last used ${relativeTime(t.last_used_at, now)}` : 'Never used'}</span>
                  </div>
                </div>
                {status === 'active' && (
                  <button type="button" className="button button-small button-danger-outline" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name}`} data-testid="token-revoke">
                    Revoke
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {creating && <CreateTokenDialog onCreated={() => void load()} onClose={() => setCreating(false)} />}
      {revoking && (
        <ConfirmDialog
          title="Revoke token?"
          danger
          busy={busy}
          confirmLabel="Revoke"
          message={
            <p>
              Scripts using <strong>{revoking.name}</strong> will be refused from now on, and sockets opened with it close at once.
            </p>
          }
          onCancel={() => setRevoking(null)}
          onConfirm={() => void revoke(revoking)}
        />
      )}
    </section>
  );
}
