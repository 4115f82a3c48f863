//! Dialogs of the users page: a new user, and resetting a password.

import { type FormEvent, useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { AdminUser } from '../api/types';
import { Modal } from '../ui/Modal';
import { passwordProblem, userNameProblem } from './users';

/** Creates a user. */
export function CreateUserDialog({ onCreated, onClose }: { onCreated: (u: AdminUser) => void; onClose: () => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [isAdmin, setIsAdmin] = useState(false);
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameProblem = userNameProblem(name);
  const pwProblem = passwordProblem(password, true);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (nameProblem || pwProblem) return;
    setBusy(true);
    setError(null);
    try {
      const user = await api.createUser({ name, ...(password ? { password } : {}), is_admin: isAdmin });
      onCreated(user);
      onClose();
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Modal title="New user" onClose={onClose} testId="create-user-dialog">
      <form onSubmit={submit} className="stack" noValidate>
        <label className="field">
          <span>Name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
            autoCapitalize="none"
            autoCorrect="off"
            spellCheck={false}
            maxLength={64}
            aria-invalid={touched && !!nameProblem}
            data-testid="user-name-input"
          />
        </label>
        {touched && nameProblem && <p className="form-error">{nameProblem}</p>}
        <label className="field">
          <span>Password (optional: without one, the user signs in another way, e.g. OIDC)</span>
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={touched && !!pwProblem}
            data-testid="user-password-input"
          />
        </label>
        {touched && pwProblem && <p className="form-error">{pwProblem}</p>}
        <label className="toggle">
          <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.target.checked)} data-testid="user-admin-input" />
          Admin: may manage users and read the audit log
        </label>
        {error && (
          <p className="form-error" role="alert" data-testid="user-error">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy} data-testid="user-create-submit">
            {busy ? 'Creating…' : 'Create user'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Resets a user's password (`POST api/admin/users/{name}/password`): their logins end. */
export function PasswordDialog({ user, onSaved, onClose }: { user: AdminUser; onSaved: (u: AdminUser, ended: number) => void; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const problem = passwordProblem(password);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (problem) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.resetPassword(user.name, password);
      onSaved(r.user, r.ended);
      onClose();
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Modal title={`Reset password of ${user.name}`} onClose={onClose} testId="password-dialog">
      <form onSubmit={submit} className="stack" noValidate>
        <p className="muted small">Tell them the new password yourself. Their logins in every browser end now; their API tokens keep working.</p>
        <label className="field">
          <span>New password</span>
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoFocus
            aria-invalid={touched && !!problem}
            data-testid="new-password-input"
          />
        </label>
        {touched && problem && <p className="form-error">{problem}</p>}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy} data-testid="password-submit">
            {busy ? 'Resetting…' : 'Reset password'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
