//! The account page: who is signed in, "log out everywhere", and the
//! user's API tokens.

import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { User } from '../api/types';
import { ConfirmDialog } from '../ui/Modal';
import { useToasts } from '../ui/toasts';
import { TokensSection } from './TokensSection';

/** Props of `AccountPage`. */
interface AccountPageProps {
  user: User;
  /** Back to the login page once this browser's login has ended too. */
  onSignedOut: () => void;
}

/** The page. */
export function AccountPage({ user, onSignedOut }: AccountPageProps) {
  const toasts = useToasts();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  async function logoutAll() {
    setBusy(true);
    try {
      const { ended } = await api.logoutAll();
      toasts.info(`Signed out everywhere (${ended} login${ended === 1 ? '' : 's'} ended).`);
      onSignedOut();
    } catch (e) {
      toasts.error(`Could not sign out everywhere: ${errorMessage(e)}`);
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    <main className="page account-page" data-testid="account-page">
      <div className="page-header">
        <div>
          <h1>Account</h1>
          <p className="muted">
            Signed in as <strong>{user.name}</strong>
            {user.is_admin ? ' (admin)' : ''}
          </p>
        </div>
      </div>

      <section className="card-section" aria-labelledby="logins-heading">
        <div className="section-header">
          <div>
            <h2 id="logins-heading">Logins</h2>
            <p className="muted small">Ends your login in every browser, this one included. API tokens keep working.</p>
          </div>
          <button type="button" className="button button-danger-outline" onClick={() => setConfirming(true)} data-testid="logout-all">
            Log out everywhere
          </button>
        </div>
      </section>

      <TokensSection />

      {confirming && (
        <ConfirmDialog
          title="Log out everywhere?"
          danger
          busy={busy}
          confirmLabel="Log out everywhere"
          message={<p>Every browser signed in as {user.name} is signed out, and their open terminals and chats close.</p>}
          onCancel={() => setConfirming(false)}
          onConfirm={() => void logoutAll()}
        />
      )}
    </main>
  );
}
