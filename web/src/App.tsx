//! The app shell: who is signed in, the header, routing, and the things
//! every page shares (toasts, shortcuts, notifications, the session poll).

import { useCallback, useEffect, useState } from 'react';
import { AccountPage } from './account/AccountPage';
import { AuditPage } from './admin/AuditPage';
import { ServerPage } from './admin/ServerPage';
import { SessionsPage as AdminSessionsPage } from './admin/SessionsPage';
import { UsersPage } from './admin/UsersPage';
import { api, ApiError, errorMessage, onUnauthorized } from './api/client';
import { ServerPolicyProvider } from './api/serverPolicy';
import type { MeResponse, Theme, User } from './api/types';
import { SetPasswordPrompt, shouldPromptForPassword } from './account/SetPasswordPrompt';
import { applyTheme } from './theme/theme';
import { type ExternalLogin, LoginPage } from './auth/LoginPage';
import { SessionsHome } from './home/SessionsHome';
import { SessionsProvider, useSessions } from './home/sessionsStore';
import { notificationsEnabled, notificationsSupported, setNotificationsEnabled } from './notify/notifier';
import { navigate, useRoute } from './router';
import { SessionPage } from './session/SessionPage';
import { SharedSessionPage } from './share/SharedSessionPage';
import { Icon } from './ui/icons';
import { Modal } from './ui/Modal';
import { SHORTCUTS, useShortcuts } from './ui/shortcuts';
import { ToastProvider, useToasts } from './ui/toasts';

/** Who uses the app right now. */
type AuthState =
  | { status: 'checking' }
  | { status: 'signed_out'; notice: string | null }
  | { status: 'signed_in'; me: MeResponse }
  | { status: 'error'; message: string };

/** The root component. */
export function App() {
  return (
    <ToastProvider>
      <AuthGate />
    </ToastProvider>
  );
}

function AuthGate() {
  const [auth, setAuth] = useState<AuthState>({ status: 'checking' });
  const [external, setExternal] = useState<ExternalLogin | null>(null);
  const [loginLink, setLoginLink] = useState<boolean | null>(null);

  const signedIn = useCallback((me: MeResponse) => {
    // The server's copy of the theme wins over this browser's cache.
    applyTheme(me.preferences.theme);
    setAuth({ status: 'signed_in', me });
  }, []);

  const check = useCallback(() => {
    setAuth({ status: 'checking' });
    api.me().then(
      signedIn,
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setAuth({ status: 'signed_out', notice: null });
        else setAuth({ status: 'error', message: errorMessage(e) });
      },
    );
  }, [signedIn]);

  // After a login form: the rest of the account (preferences, password rights).
  const loggedIn = useCallback(
    (user: User) => {
      api.me().then(signedIn, () => setAuth({ status: 'signed_in', me: { user, can_set_password: false, preferences: { theme: 'system' }, server: null } }));
    },
    [signedIn],
  );

  useEffect(() => {
    check();
    // Any request answering 401 later (expired login) brings the login page back.
    onUnauthorized(() =>
      setAuth((a) => (a.status === 'signed_in' ? { status: 'signed_out', notice: 'Your login expired. Please sign in again.' } : a)),
    );
    return () => onUnauthorized(null);
  }, [check]);

  // The OIDC button, when the server offers it; without an answer, no button.
  useEffect(() => {
    if (auth.status !== 'signed_out') return;
    let live = true;
    api.authConfig().then(
      (c) => {
        if (live) setLoginLink(c.login_link);
        if (live && c.oidc.enabled && c.oidc.label && c.oidc.path) setExternal({ label: c.oidc.label, path: c.oidc.path });
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [auth.status]);

  switch (auth.status) {
    case 'checking':
      return (
        <div className="splash" aria-busy="true">
          <img src="./icon.svg" alt="" width={56} height={56} />
        </div>
      );
    case 'error':
      return (
        <main className="page">
          <div className="empty-state" role="alert">
            <h2>ccweb is not reachable</h2>
            <p className="muted">{auth.message}</p>
            <button type="button" className="button button-primary" onClick={check}>
              Try again
            </button>
          </div>
        </main>
      );
    case 'signed_out':
      return <LoginPage notice={auth.notice} external={external} loginLink={loginLink} onLogin={loggedIn} />;
    case 'signed_in':
      return (
        <Shell
          me={auth.me}
          onMeChange={(me) => setAuth({ status: 'signed_in', me })}
          onSignedOut={() => setAuth({ status: 'signed_out', notice: null })}
        />
      );
  }
}

/** Props of the signed-in shell. */
interface ShellProps {
  /** The signed-in user, their password rights and preferences. */
  me: MeResponse;
  onMeChange: (me: MeResponse) => void;
  onSignedOut: () => void;
}

function Shell(props: ShellProps) {
  const route = useRoute();
  const openSession = useCallback((id: string) => navigate({ page: 'session', id, readonly: false, tab: 'terminal' }), []);
  return (
    <ServerPolicyProvider policy={props.me.server}>
      <SessionsProvider listVisible={route.page === 'home'} openSession={openSession}>
        <ShellBody {...props} />
      </SessionsProvider>
    </ServerPolicyProvider>
  );
}

function ShellBody({ me, onMeChange, onSignedOut }: ShellProps) {
  const user = me.user;
  const [askPassword, setAskPassword] = useState(() => shouldPromptForPassword(me));
  const setUser = (u: User) => onMeChange({ ...me, user: u });
  const setTheme = (theme: Theme) => onMeChange({ ...me, preferences: { ...me.preferences, theme } });
  const route = useRoute();
  const toasts = useToasts();
  const { sessions } = useSessions();
  const [help, setHelp] = useState(false);
  const [notify, setNotify] = useState(notificationsEnabled);

  useShortcuts({
    '?': () => setHelp(true),
    g: () => navigate({ page: 'home' }),
  });

  const attention = sessions?.filter((s) => s.needs_attention).length ?? 0;
  const adminPage = route.page === 'admin_users' || route.page === 'admin_sessions' || route.page === 'admin_audit' || route.page === 'admin_server';

  useEffect(() => {
    if (route.page !== 'session' && route.page !== 'share') document.title = attention > 0 ? `(${attention}) ccweb` : 'ccweb';
  }, [route.page, attention]);

  async function toggleNotifications() {
    const on = await setNotificationsEnabled(!notify);
    setNotify(on);
    if (!notify && !on) toasts.error('Notifications are blocked for this site. Allow them in the browser’s site settings.');
    else if (on) toasts.info('You will be notified when a session needs you while this tab is hidden.');
  }

  async function logout() {
    try {
      await api.logout();
    } catch (e) {
      toasts.error(`Logout failed: ${errorMessage(e)}`);
      return;
    }
    onSignedOut();
  }

  return (
    <div className="app">
      <header className="app-header">
        <a className="brand" href="#/" aria-label="ccweb — sessions">
          <img src="./icon.svg" alt="" width={26} height={26} />
          <span>ccweb</span>
        </a>
        {attention > 0 && (
          <a className="badge badge-attention header-attention" href="#/" title="Sessions waiting for an answer">
            <Icon name="alert" size={14} /> {attention}
          </a>
        )}
        <span className="spacer" />
        {notificationsSupported() && (
          <button
            type="button"
            className="icon-button"
            onClick={() => void toggleNotifications()}
            aria-label={notify ? 'Turn desktop notifications off' : 'Turn desktop notifications on'}
            aria-pressed={notify}
            title={notify ? 'Notifications on' : 'Notifications off'}
            data-testid="notifications-toggle"
          >
            <Icon name={notify ? 'bell' : 'bellOff'} />
          </button>
        )}
        <button type="button" className="icon-button" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
          <Icon name="keyboard" />
        </button>
        {user.is_admin && (
          <a
            className={`icon-button${adminPage ? ' active' : ''}`}
            href="#/admin/users"
            aria-label="Administration: users and audit log"
            aria-current={adminPage ? 'page' : undefined}
            title="Administration"
            data-testid="admin-link"
          >
            <Icon name="shield" />
          </a>
        )}
        <a
          className={`header-account${route.page === 'account' ? ' active' : ''}`}
          href="#/account"
          aria-label={`Account of ${user.name}: tokens and logins`}
          aria-current={route.page === 'account' ? 'page' : undefined}
          title={user.is_admin ? `${user.name} (admin) — account` : `${user.name} — account`}
          data-testid="account-link"
        >
          <Icon name="user" />
          <span className="user-name" data-testid="user-name">
            {user.name}
          </span>
        </a>
        <button type="button" className="icon-button" onClick={() => void logout()} aria-label="Sign out" title="Sign out" data-testid="logout">
          <Icon name="logout" />
        </button>
      </header>

      {route.page === 'home' && <SessionsHome />}
      {route.page === 'session' && <SessionPage key={route.id} id={route.id} readonly={route.readonly} tab={route.tab} userName={user.name} />}
      {route.page === 'share' && <SharedSessionPage key={route.token} token={route.token} tab={route.tab} />}
      {route.page === 'account' && (
        <AccountPage
          user={user}
          canSetPassword={me.can_set_password}
          onUserChange={setUser}
          theme={me.preferences.theme}
          onThemeChange={setTheme}
          onSignedOut={onSignedOut}
        />
      )}
      {route.page === 'admin_users' && (user.is_admin ? <UsersPage me={user} /> : <AdminOnly />)}
      {route.page === 'admin_sessions' && (user.is_admin ? <AdminSessionsPage key={route.owner ?? ''} me={user} owner={route.owner} /> : <AdminOnly />)}
      {route.page === 'admin_audit' && (user.is_admin ? <AuditPage /> : <AdminOnly />)}
      {route.page === 'admin_server' && (user.is_admin ? <ServerPage /> : <AdminOnly />)}
      {route.page === 'not_found' && (
        <main className="page">
          <div className="empty-state">
            <h2>Nothing here</h2>
            <p className="muted">This link does not lead anywhere in ccweb.</p>
            <a className="button button-primary" href="#/">
              Back to sessions
            </a>
          </div>
        </main>
      )}

      {askPassword && (
        <SetPasswordPrompt
          user={user}
          onSaved={(u) => {
            setAskPassword(false);
            setUser(u);
          }}
          onClose={() => setAskPassword(false)}
        />
      )}

      {help && (
        <Modal title="Keyboard shortcuts" onClose={() => setHelp(false)} testId="shortcuts-dialog">
          <dl className="shortcut-list">
            {SHORTCUTS.map((s) => (
              <div key={s.keys}>
                <dt>
                  <kbd>{s.keys}</kbd>
                </dt>
                <dd>{s.what}</dd>
              </div>
            ))}
          </dl>
        </Modal>
      )}
    </div>
  );
}

/** What a non-admin sees at an admin address. */
function AdminOnly() {
  return (
    <main className="page">
      <div className="empty-state">
        <h2>Admins only</h2>
        <p className="muted">This page is for ccweb’s administrators.</p>
        <a className="button button-primary" href="#/">
          Back to sessions
        </a>
      </div>
    </main>
  );
}
