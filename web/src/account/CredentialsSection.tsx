//! The user's own Claude credentials (an Anthropic API key, a subscription
//! token): whether each is set ("Set, ends in …abcd"), a password field to
//! set or replace one, and deleting one after a confirmation. Write-only:
//! the page never gets a value back.

import { type FormEvent, useState } from 'react';
import { api, errorMessage } from '../api/client';
import { useServerPolicy } from '../api/serverPolicy';
import type { CredentialKind, CredentialPolicy, Credentials } from '../api/types';
import { useLoaded } from '../api/useLoaded';
import { ConfirmDialog } from '../ui/Modal';
import { useToasts } from '../ui/toasts';
import { CREDENTIAL_KINDS, credentialPolicyText, credentialProblem, credentialStatusText } from './credentials';

/** The section, loading the user's credentials. */
export function CredentialsSection() {
  const toasts = useToasts();
  const policy = useServerPolicy()?.user_credentials;
  const { value: credentials, setValue, error, reload } = useLoaded(api.credentials);
  const [deleting, setDeleting] = useState<CredentialKind | null>(null);
  const [busy, setBusy] = useState(false);

  async function remove(kind: CredentialKind) {
    setBusy(true);
    try {
      await api.deleteCredential(kind);
      toasts.info(`${labelOf(kind)} deleted.`);
      setDeleting(null);
      await reload();
    } catch (e) {
      toasts.error(`Could not delete it: ${errorMessage(e)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card-section" aria-labelledby="credentials-heading" data-testid="credentials-section">
      {error && (
        <div className="banner banner-error" role="alert">
          <span>Could not load your credentials: {error}</span>
          <button type="button" className="button button-small" onClick={() => void reload()}>
            Retry
          </button>
        </div>
      )}
      <CredentialsView
        credentials={credentials}
        policy={policy}
        onSaved={(c, kind) => {
          setValue(c);
          toasts.info(`${labelOf(kind)} saved.`);
        }}
        onDelete={setDeleting}
      />
      {deleting && (
        <ConfirmDialog
          title={`Delete your ${labelOf(deleting)}?`}
          danger
          busy={busy}
          confirmLabel="Delete"
          message={<p>Sessions you start from now on use {policy === 'required' ? 'nothing: you must set one again first' : 'the server’s credential instead'}. Running sessions keep theirs until they end.</p>}
          onCancel={() => setDeleting(null)}
          onConfirm={() => void remove(deleting)}
        />
      )}
    </section>
  );
}

/** The name of a kind on the page. */
function labelOf(kind: CredentialKind): string {
  return CREDENTIAL_KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

/** Props of `CredentialsView`. */
interface CredentialsViewProps {
  /** Null while loading. */
  credentials: Credentials | null;
  policy: CredentialPolicy | undefined;
  onSaved: (credentials: Credentials, kind: CredentialKind) => void;
  onDelete: (kind: CredentialKind) => void;
}

/** The heading, the policy and one row per kind (no loading of its own). */
export function CredentialsView({ credentials, policy, onSaved, onDelete }: CredentialsViewProps) {
  const anySet = !!credentials && CREDENTIAL_KINDS.some(({ kind }) => credentials[kind]?.set);
  return (
    <>
      <div className="section-header">
        <div>
          <h2 id="credentials-heading">Claude credentials</h2>
          <p className="muted small" data-testid="credentials-policy" data-policy={policy ?? 'optional'}>
            {credentialPolicyText(policy, anySet)}
          </p>
        </div>
      </div>
      {credentials === null ? (
        <p className="muted loading">Loading…</p>
      ) : (
        <ul className="item-list" data-testid="credential-list">
          {CREDENTIAL_KINDS.map(({ kind, label, help }) => (
            <CredentialRow key={kind} kind={kind} label={label} help={help} credentials={credentials} editable={policy !== 'disabled'} onSaved={onSaved} onDelete={onDelete} />
          ))}
        </ul>
      )}
    </>
  );
}

/** Props of `CredentialRow`. */
interface CredentialRowProps {
  kind: CredentialKind;
  label: string;
  help: string;
  credentials: Credentials;
  /** Whether the user may set one (not with `user_credentials = "disabled"`). */
  editable: boolean;
  onSaved: (credentials: Credentials, kind: CredentialKind) => void;
  onDelete: (kind: CredentialKind) => void;
}

/** One kind: its status, the field to set or replace it, delete. */
function CredentialRow({ kind, label, help, credentials, editable, onSaved, onDelete }: CredentialRowProps) {
  const state = credentials[kind];
  const [value, setValue] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const problem = credentialProblem(value);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (problem) return;
    setBusy(true);
    setError(null);
    try {
      const saved = await api.setCredential(kind, value);
      setValue('');
      setTouched(false);
      onSaved(saved, kind);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="item-row credential-row" data-testid="credential-row" data-kind={kind} data-set={String(!!state?.set)}>
      <div className="item-main">
        <div className="item-title">
          <strong>{label}</strong>
          <span className={state?.set ? 'badge' : 'badge badge-muted'} data-testid="credential-status">
            {credentialStatusText(state)}
          </span>
        </div>
        <div className="item-meta muted small">
          <span>{help}</span>
        </div>
        {editable && (
          <form onSubmit={submit} className="credential-form" noValidate>
            <input
              type="password"
              autoComplete="off"
              spellCheck={false}
              aria-label={`${state?.set ? 'New' : ''} ${label}`.trim()}
              placeholder={state?.set ? 'Paste a new one to replace it' : 'Paste it here'}
              value={value}
              onChange={(e) => setValue(e.target.value.trim())}
              aria-invalid={touched && !!problem}
              data-testid="credential-input"
            />
            <button type="submit" className="button button-primary" disabled={busy} data-testid="credential-save">
              {busy ? 'Saving…' : state?.set ? 'Replace' : 'Save'}
            </button>
            {state?.set && (
              <button type="button" className="button button-danger-outline" onClick={() => onDelete(kind)} aria-label={`Delete ${label}`} data-testid="credential-delete">
                Delete
              </button>
            )}
          </form>
        )}
        {touched && problem && <p className="form-error">{problem}</p>}
        {error && (
          <p className="form-error" role="alert" data-testid="credential-error">
            {error}
          </p>
        )}
      </div>
    </li>
  );
}
