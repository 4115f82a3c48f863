//! The form that sets or changes the user's own password: the current one
//! (when one is set), the new one twice. Used on the account page and by the
//! first-login prompt.

import { type FormEvent, useState } from 'react';
import { api } from '../api/client';
import type { User } from '../api/types';
import { passwordErrorText, passwordFormProblem } from './password';

/** Props of `PasswordForm`. */
interface PasswordFormProps {
  user: User;
  /** The password was saved; `ended` other logins were signed out. */
  onSaved: (user: User, ended: number) => void;
  /** A "Cancel"/"Not now" button, when given. */
  onCancel?: () => void;
  cancelLabel?: string;
  autoFocus?: boolean;
}

/** The form. */
export function PasswordForm({ user, onSaved, onCancel, cancelLabel = 'Cancel', autoFocus }: PasswordFormProps) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const problem = passwordFormProblem({ hasPassword: user.has_password, current, next, confirm });

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (problem) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.changePassword(user.has_password ? { current_password: current, new_password: next } : { new_password: next });
      setCurrent('');
      setNext('');
      setConfirm('');
      setTouched(false);
      onSaved(r.user, r.ended);
    } catch (err) {
      setError(passwordErrorText(err));
      setCurrent('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="stack password-form" noValidate data-testid="password-form">
      {/* For password managers: whose password this is. */}
      <input type="text" name="username" autoComplete="username" value={user.name} readOnly hidden />
      {user.has_password && (
        <label className="field">
          <span>Current password</span>
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            autoFocus={autoFocus}
            data-testid="current-password-input"
          />
        </label>
      )}
      <label className="field">
        <span>New password (at least 8 characters)</span>
        <input
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.target.value)}
          autoFocus={autoFocus && !user.has_password}
          aria-invalid={touched && !!problem}
          data-testid="own-new-password-input"
        />
      </label>
      <label className="field">
        <span>New password again</span>
        <input type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} aria-invalid={touched && !!problem} data-testid="own-confirm-password-input" />
      </label>
      {touched && problem && <p className="form-error">{problem}</p>}
      {error && (
        <p className="form-error" role="alert" data-testid="password-error">
          {error}
        </p>
      )}
      <div className="modal-actions">
        {onCancel && (
          <button type="button" className="button" onClick={onCancel} data-testid="password-cancel">
            {cancelLabel}
          </button>
        )}
        <button type="submit" className="button button-primary" disabled={busy} data-testid="own-password-submit">
          {busy ? 'Saving…' : user.has_password ? 'Change password' : 'Set password'}
        </button>
      </div>
    </form>
  );
}
