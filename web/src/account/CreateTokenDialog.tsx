//! Creates an API token, then shows its secret this one time.

import { type FormEvent, useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { CreatedToken, TokenScope } from '../api/types';
import { CopyField } from '../ui/CopyField';
import { Modal } from '../ui/Modal';
import { MAX_TOKEN_NAME_CHARS, TOKEN_EXPIRY_CHOICES, tokenNameProblem } from './tokens';

/** Props of `CreateTokenDialog`. */
interface CreateTokenDialogProps {
  /** Called once the token exists (the list reloads). */
  onCreated: (created: CreatedToken) => void;
  onClose: () => void;
}

/** The dialog: a form, then the secret. */
export function CreateTokenDialog({ onCreated, onClose }: CreateTokenDialogProps) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('read');
  const [expiry, setExpiry] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [touched, setTouched] = useState(false);
  const problem = tokenNameProblem(name);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (problem) return;
    setBusy(true);
    setError(null);
    try {
      const secs = TOKEN_EXPIRY_CHOICES[expiry]?.secs ?? null;
      const result = await api.createToken({ name: name.trim(), scope, ...(secs ? { expires_in_secs: secs } : {}) });
      setCreated(result);
      onCreated(result);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <Modal
        title="Token created"
        onClose={onClose}
        testId="token-created-dialog"
        footer={
          <button type="button" className="button button-primary" onClick={onClose} data-testid="token-created-done">
            Done
          </button>
        }
      >
        <div className="stack">
          <p className="notice-warn" role="note">
            Copy the secret now: <strong>you won’t see it again.</strong> Only a hash of it is stored.
          </p>
          <CopyField label={`Secret of “${created.token.name}”`} value={created.secret} testId="token-secret" />
          <p className="muted small">
            Send it as <code>Authorization: Bearer …</code>
            {created.token.scope === 'read' ? '. Read-only: it can list and watch, not change anything.' : ', or sign in with it.'}
          </p>
        </div>
      </Modal>
    );
  }

  return (
    <Modal title="New API token" onClose={onClose} testId="create-token-dialog">
      <form onSubmit={submit} className="stack" noValidate>
        <label className="field">
          <span>Name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={MAX_TOKEN_NAME_CHARS}
            placeholder="e.g. backup script"
            autoFocus
            aria-invalid={touched && !!problem}
            data-testid="token-name"
          />
        </label>
        {touched && problem && <p className="form-error">{problem}</p>}
        <fieldset className="field">
          <legend>Scope</legend>
          <label className="toggle">
            <input type="radio" name="scope" checked={scope === 'read'} onChange={() => setScope('read')} data-testid="token-scope-read" />
            Read: list sessions and watch them
          </label>
          <label className="toggle">
            <input type="radio" name="scope" checked={scope === 'full'} onChange={() => setScope('full')} data-testid="token-scope-full" />
            Full: everything you can do
          </label>
        </fieldset>
        <label className="field">
          <span>Expires</span>
          <select value={expiry} onChange={(e) => setExpiry(Number(e.target.value))} data-testid="token-expiry">
            {TOKEN_EXPIRY_CHOICES.map((c, i) => (
              <option key={c.label} value={i}>
                {c.secs === null ? 'Never' : `In ${c.label}`}
              </option>
            ))}
          </select>
        </label>
        {error && (
          <p className="form-error" role="alert" data-testid="token-error">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy} data-testid="token-create-submit">
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
