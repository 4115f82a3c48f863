//! The account page: who is signed in, their password, their Claude
//! credentials, the theme, "log out everywhere", and the user's API tokens.

import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { Theme, User } from '../api/types';
import { ThemeSwitch } from '../theme/ThemeSwitch';
import { ConfirmDialog } from '../ui/Modal';
import { useToasts } from '../ui/toasts';
import { CredentialsSection } from './CredentialsSection';
import { passwordChangedText } from './password';
import { PasswordForm } from './PasswordForm';
import { TokensSection } from './TokensSection';

/** Props of `AccountPage`. */
interface AccountPageProps {
  user: User;
  /** Whether the user may set or change their own password. */
  canSetPassword: boolean;
  /** The password was set or changed. */
  onUserChange: (user: User) => void;
  theme: Theme;
  onThemeChange: (theme: Theme) => void;
  /** Back to the login page once this browser's login has ended too. */
  onSignedOut: () => void;
}

/** The page. */
export function AccountPage({ user, canSetPassword, onUserChange, theme, onThemeChange, onSignedOut }: AccountPageProps) {
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

      <section className="card-section" aria-labelledby="password-heading" data-testid="password-section">
        <div className="section-header">
          <div>
            <h2 id="password-heading">Password</h2>
            <p className="muted small" data-testid="password-status">
              {user.has_password
                ? 'Changing it signs out your other logins. API tokens keep working.'
                : canSetPassword
                  ? 'You have no password yet: set one to log in again after you sign out.'
                  : 'You sign in through single sign-on; ask an admin if you need a password.'}
            </p>
          </div>
        </div>
        {canSetPassword && (
          <PasswordForm
            key={String(user.has_password)}
            user={user}
            onSaved={(u, ended) => {
              toasts.info(passwordChangedText(ended, !user.has_password));
              onUserChange(u);
            }}
          />
        )}
      </section>

      <CredentialsSection />

      <section className="card-section" aria-labelledby="theme-heading">
        <div className="section-header">
          <div>
            <h2 id="theme-heading">Theme</h2>
            <p className="muted small">Saved for your account, on every device. “System” follows this device’s light or dark setting.</p>
          </div>
          <ThemeSwitch value={theme} onChange={onThemeChange} />
        </div>
      </section>

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
