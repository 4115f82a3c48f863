//! The owner's share dialog: create a read-only link (with an optional
//! lifetime), copy its full URL, and revoke links made before.

import { useCallback, useState } from 'react';
import { api, ApiError, errorMessage } from '../api/client';
import { useLoaded } from '../api/useLoaded';
import type { Share } from '../api/types';
import { formatDateTime } from '../account/tokens';
import { CopyField } from '../ui/CopyField';
import { ConfirmDialog, Modal } from '../ui/Modal';
import { SHARE_EXPIRY_CHOICES, shareStatus, shareUrl } from './shareUrl';

/** Props of `ShareDialog`. */
interface ShareDialogProps {
  sessionId: string;
  onClose: () => void;
}

/** Index of the lifetime picked by default (1 day). */
const DEFAULT_EXPIRY = 1;

/** Why the list of links could not be loaded. */
function listErrorText(e: unknown): string {
  return e instanceof ApiError && (e.status === 404 || e.status === 405) ? 'This server does not offer share links.' : errorMessage(e);
}

/** The dialog. */
export function ShareDialog({ sessionId, onClose }: ShareDialogProps) {
  const [expiry, setExpiry] = useState(DEFAULT_EXPIRY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ url: string; shareId: Share['id'] } | null>(null);
  const [revoking, setRevoking] = useState<Share | null>(null);

  const listShares = useCallback((signal?: AbortSignal) => api.listShares(sessionId, signal), [sessionId]);
  const { value: shares, error: listError, reload: load } = useLoaded(listShares, listErrorText);

  async function create() {
    setBusy(true);
    setError(null);
    try {
      const secs = SHARE_EXPIRY_CHOICES[expiry]?.secs ?? undefined;
      const r = await api.createShare(sessionId, secs);
      setCreated({ url: shareUrl(document.baseURI, r.path), shareId: r.share.id });
      await load();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function revoke(share: Share) {
    setBusy(true);
    try {
      await api.revokeShare(sessionId, share.id);
      if (created?.shareId === share.id) setCreated(null);
      setRevoking(null);
      await load();
    } catch (e) {
      setError(`Could not revoke the link: ${errorMessage(e)}`);
      setRevoking(null);
    } finally {
      setBusy(false);
    }
  }

  const now = Date.now();

  return (
    <Modal title="Share read-only" onClose={onClose} wide testId="share-dialog">
      <div className="stack">
        <p className="muted small">Anyone signed in to this ccweb who has the link can watch this session — its terminal or chat — without typing or answering.</p>
        <div className="share-create">
          <label className="field">
            <span>Link expires</span>
            <select value={expiry} onChange={(e) => setExpiry(Number(e.target.value))} data-testid="share-expiry">
              {SHARE_EXPIRY_CHOICES.map((c, i) => (
                <option key={c.label} value={i}>
                  {c.secs === null ? 'Never' : `In ${c.label}`}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="button button-primary" onClick={() => void create()} disabled={busy} data-testid="share-create">
            {busy ? 'Creating…' : 'Create link'}
          </button>
        </div>
        {error && (
          <p className="form-error" role="alert" data-testid="share-error">
            {error}
          </p>
        )}
        {created && (
          <div className="stack">
            <CopyField label="Read-only link" value={created.url} testId="share-url" />
            <p className="muted small">Copy it now: the link is not shown again. Revoke it below when it is no longer needed.</p>
          </div>
        )}

        <h3 className="subheading">Links</h3>
        {listError && <p className="muted small" data-testid="share-list-error">{listError}</p>}
        {shares === null && !listError && <p className="muted small">Loading…</p>}
        {shares?.length === 0 && <p className="muted small">No links yet.</p>}
        {shares && shares.length > 0 && (
          <ul className="item-list compact" data-testid="share-list">
            {shares.map((s) => {
              const status = shareStatus(s, now);
              return (
                <li key={s.id} className={`item-row${status === 'active' ? '' : ' item-row-inactive'}`} data-testid="share-row" data-status={status}>
                  <div className="item-main">
                    <div className="item-title">
                      <span>Created {formatDateTime(s.created_at)}</span>
                      {status !== 'active' && <span className="badge badge-muted">{status}</span>}
                    </div>
                    <div className="item-meta muted small">
                      {s.revoked_at ? `Revoked ${formatDateTime(s.revoked_at)}` : s.expires_at ? `Expires ${formatDateTime(s.expires_at)}` : 'Never expires'}
                    </div>
                  </div>
                  {status === 'active' && (
                    <button type="button" className="button button-small button-danger-outline" onClick={() => setRevoking(s)} disabled={busy} data-testid="share-revoke">
                      Revoke
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      {revoking && (
        <ConfirmDialog
          title="Revoke link?"
          danger
          busy={busy}
          confirmLabel="Revoke"
          message={<p>Whoever has this link can no longer open the session.</p>}
          onCancel={() => setRevoking(null)}
          onConfirm={() => void revoke(revoking)}
        />
      )}
    </Modal>
  );
}
