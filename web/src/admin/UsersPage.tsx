//! Admin: the users, a new user, and per user: disable or enable, make or
//! unmake admin, reset the password. The server's refusals (e.g. an admin
//! demoting themselves) show as messages.

import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import { useLoaded } from '../api/useLoaded';
import type { AdminUser, UpdateUserRequest, User } from '../api/types';
import { relativeTime } from '../home/format';
import { hrefFor } from '../router';
import { Icon } from '../ui/icons';
import { ConfirmDialog } from '../ui/Modal';
import { useToasts } from '../ui/toasts';
import { formatDateTime } from '../account/tokens';
import { AdminNav } from './AdminNav';
import { CreateUserDialog, PasswordDialog } from './UserDialogs';

/** Which dialog is open. */
type Dialog = { kind: 'new' } | { kind: 'password'; user: AdminUser } | { kind: 'disable'; user: AdminUser } | null;

/** The page. */
export function UsersPage({ me }: { me: User }) {
  const toasts = useToasts();
  const { value: users, setValue: setUsers, error, reload: load } = useLoaded(api.listUsers);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busyName, setBusyName] = useState<string | null>(null);

  const replace = (u: AdminUser) => setUsers((list) => list?.map((x) => (x.name === u.name ? u : x)) ?? null);

  async function update(user: AdminUser, change: UpdateUserRequest, done: string) {
    setBusyName(user.name);
    try {
      replace(await api.updateUser(user.name, change));
      toasts.info(done);
      return true;
    } catch (e) {
      toasts.error(`${user.name}: ${errorMessage(e)}`);
      return false;
    } finally {
      setBusyName(null);
    }
  }

  const now = Date.now();

  return (
    <main className="page admin-page" data-testid="users-page">
      <div className="page-header">
        <div>
          <h1>Users</h1>
          <AdminNav current="admin_users" />
        </div>
        <button type="button" className="button button-primary" onClick={() => setDialog({ kind: 'new' })} data-testid="user-new">
          <Icon name="plus" /> New user
        </button>
      </div>
      {error && (
        <div className="banner banner-error" role="alert">
          <span>Could not load users: {error}</span>
          <button type="button" className="button button-small" onClick={() => void load()}>
            Retry
          </button>
        </div>
      )}
      {users === null && !error && <p className="muted loading">Loading users…</p>}
      {users && (
        <ul className="item-list" data-testid="user-list">
          {users.map((u) => {
            const busy = busyName === u.name;
            return (
              <li key={u.name} className={`item-row${u.disabled ? ' item-row-inactive' : ''}`} data-testid="user-row" data-user-name={u.name}>
                <div className="item-main">
                  <div className="item-title">
                    <strong>{u.name}</strong>
                    {u.name === me.name && <span className="muted small">(you)</span>}
                    {u.is_admin && <span className="badge badge-accent">admin</span>}
                    {u.disabled && (
                      <span className="badge badge-danger" data-testid="user-disabled">
                        disabled
                      </span>
                    )}
                    {!u.has_password && <span className="badge">no password</span>}
                  </div>
                  <div className="item-meta muted small">
                    <span title={formatDateTime(u.created_at)}>Created {relativeTime(u.created_at, now)}</span>
                    <span data-testid="user-running-sessions">
                      {u.running_sessions > 0 ? (
                        <a href={hrefFor({ page: 'admin_sessions', owner: u.name })} data-testid="user-sessions-link">
                          {u.running_sessions} running session{u.running_sessions === 1 ? '' : 's'}
                        </a>
                      ) : (
                        'No running session'
                      )}
                    </span>
                  </div>
                </div>
                <div className="item-actions">
                  <button type="button" className="button button-small" disabled={busy} onClick={() => setDialog({ kind: 'password', user: u })} aria-label={`Reset password of ${u.name}`} data-testid="user-password">
                    Reset password
                  </button>
                  <button
                    type="button"
                    className="button button-small"
                    disabled={busy}
                    onClick={() => void update(u, { is_admin: !u.is_admin }, u.is_admin ? `${u.name} is no longer an admin.` : `${u.name} is now an admin.`)}
                    aria-label={u.is_admin ? `Remove admin from ${u.name}` : `Make ${u.name} an admin`}
                    data-testid="user-toggle-admin"
                  >
                    {u.is_admin ? 'Remove admin' : 'Make admin'}
                  </button>
                  {u.disabled ? (
                    <button type="button" className="button button-small" disabled={busy} onClick={() => void update(u, { disabled: false }, `${u.name} is enabled.`)} aria-label={`Enable ${u.name}`} data-testid="user-enable">
                      Enable
                    </button>
                  ) : (
                    <button type="button" className="button button-small button-danger-outline" disabled={busy} onClick={() => setDialog({ kind: 'disable', user: u })} aria-label={`Disable ${u.name}`} data-testid="user-disable">
                      Disable
                    </button>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      )}

      {dialog?.kind === 'new' && (
        <CreateUserDialog
          onCreated={(u) => {
            toasts.info(`User ${u.name} created.`);
            void load();
          }}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog?.kind === 'password' && (
        <PasswordDialog
          user={dialog.user}
          onSaved={(u, ended) => {
            replace(u);
            toasts.info(`Password of ${u.name} reset${ended > 0 ? `; ${ended} login${ended === 1 ? '' : 's'} ended` : ''}.`);
          }}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog?.kind === 'disable' && (
        <ConfirmDialog
          title={`Disable ${dialog.user.name}?`}
          danger
          busy={busyName === dialog.user.name}
          confirmLabel="Disable"
          message={<p>Their logins end, their open sockets close, their running sessions stop, and their tokens are refused until enabled again.</p>}
          onCancel={() => setDialog(null)}
          onConfirm={() => {
            const user = dialog.user;
            void update(user, { disabled: true }, `${user.name} is disabled.`).then(() => setDialog(null));
          }}
        />
      )}
    </main>
  );
}
