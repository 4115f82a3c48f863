//! The login page: user name and password, or a token (an API token or
//! the one-time token from `ccweb serve`), with clear answers for wrong
//! credentials and rate limiting.

import { type FormEvent, useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { User } from '../api/types';

/** An external sign-in (OIDC), shown when the server is configured for it. */
export interface ExternalLogin {
  /** Button text, e.g. "Sign in with Company SSO". */
  label: string;
  /** Path relative to the document base, e.g. `api/auth/oidc/start`. */
  path: string;
}

/** Props of `LoginPage`. */
interface LoginPageProps {
  onLogin: (user: User) => void;
  /** OIDC button; none until the server advertises it. */
  external?: ExternalLogin | null;
  /** Why the user sees this page (e.g. the session expired). */
  notice?: string | null;
  /** Whether `ccweb serve` printed a one-time login link; null until known. */
  loginLink?: boolean | null;
}

/** What went wrong, in words a user can act on. */
export function loginErrorText(e: unknown, kind: 'password' | 'token'): string {
  if (e instanceof ApiError) {
    if (e.status === 401 || e.code === 'invalid_credentials') {
      return kind === 'password' ? 'Wrong username or password.' : 'That token is not valid (or has expired).';
    }
    if (e.code === 'invalid_login_token') return 'That one-time token was already used or is wrong.';
    if (e.status === 429) {
      return e.retryAfterSecs != null
        ? `Too many attempts. Try again in ${formatWait(e.retryAfterSecs)}.`
        : 'Too many attempts. Wait a moment and try again.';
    }
    if (e.code === 'origin_not_allowed') {
      return 'The server refused this page’s origin. If ccweb runs behind a proxy, set public_url or allowed_origins.';
    }
    if (e.status === 0) return e.message;
    return e.message || `Login failed (${e.status}).`;
  }
  return 'Login failed.';
}

/** "45 seconds", "3 minutes". */
export function formatWait(secs: number): string {
  if (secs < 60) return `${secs} second${secs === 1 ? '' : 's'}`;
  const mins = Math.ceil(secs / 60);
  return `${mins} minute${mins === 1 ? '' : 's'}`;
}

/** The login screen. */
export function LoginPage({ onLogin, external, notice, loginLink = null }: LoginPageProps) {
  const [method, setMethod] = useState<'password' | 'token'>('password');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [retryUntil, setRetryUntil] = useState<number | null>(null);
  const [, tick] = useState(0);

  // Count the rate-limit wait down so the button comes back by itself.
  useEffect(() => {
    if (retryUntil === null) return;
    const id = window.setInterval(() => {
      if (Date.now() >= retryUntil) setRetryUntil(null);
      tick((n) => n + 1);
    }, 1000);
    return () => window.clearInterval(id);
  }, [retryUntil]);

  const waitSecs = retryUntil ? Math.max(0, Math.ceil((retryUntil - Date.now()) / 1000)) : 0;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const resp = method === 'password' ? await api.login(username.trim(), password) : await api.tokenLogin(token.trim());
      onLogin(resp.user);
    } catch (err) {
      setError(loginErrorText(err, method));
      if (err instanceof ApiError && err.status === 429 && err.retryAfterSecs) {
        setRetryUntil(Date.now() + err.retryAfterSecs * 1000);
      }
      if (method === 'password') setPassword('');
    } finally {
      setBusy(false);
    }
  }

  const canSubmit = !busy && waitSecs === 0 && (method === 'password' ? username.trim() && password : token.trim());

  return (
    <main className="login-page">
      <div className="login-card">
        <div className="login-brand">
          <img src="./icon.svg" alt="" width={48} height={48} />
          <div>
            <h1>ccweb</h1>
            <p className="muted">Claude Code in your browser</p>
          </div>
        </div>
        {notice && <p className="login-notice">{notice}</p>}

        <div className="segmented" role="radiogroup" aria-label="Login method">
          <button
            type="button"
            role="radio"
            aria-checked={method === 'password'}
            className={method === 'password' ? 'active' : ''}
            onClick={() => {
              setMethod('password');
              setError(null);
            }}
            data-testid="login-method-password"
          >
            Password
          </button>
          <button
            type="button"
            role="radio"
            aria-checked={method === 'token'}
            className={method === 'token' ? 'active' : ''}
            onClick={() => {
              setMethod('token');
              setError(null);
            }}
            data-testid="login-method-token"
          >
            Token
          </button>
        </div>

        <form onSubmit={submit} className="login-form" data-testid="login-form" noValidate>
          {method === 'password' ? (
            <>
              <label className="field">
                <span>Username</span>
                <input
                  name="username"
                  autoComplete="username"
                  autoCapitalize="none"
                  spellCheck={false}
                  value={username}
                  onChange={(e) => setUsername(e.target.value)}
                  autoFocus
                  required
                  data-testid="login-username"
                />
              </label>
              <label className="field">
                <span>Password</span>
                <input
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  required
                  data-testid="login-password"
                />
              </label>
            </>
          ) : (
            <label className="field">
              <span>Token</span>
              <input
                name="token"
                type="password"
                autoComplete="off"
                spellCheck={false}
                placeholder="ccweb_…"
                value={token}
                onChange={(e) => setToken(e.target.value)}
                autoFocus
                required
                data-testid="login-token"
              />
              <small className="muted">An API token, or the one-time token printed by <code>ccweb serve</code>.</small>
            </label>
          )}

          {error && (
            <p className="form-error" role="alert" data-testid="login-error">
              {error}
              {waitSecs > 0 && error.startsWith('Too many') ? ` (${waitSecs} s)` : ''}
            </p>
          )}

          <button type="submit" className="button button-primary button-block" disabled={!canSubmit} data-testid="login-submit">
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>

        {loginLink !== null && (
          <p className="muted small login-first-time" data-testid="login-first-time">
            <strong>First time?</strong>{' '}
            {loginLink ? (
              <>
                When it started, <code>ccweb serve</code> printed a one-time login link in its terminal (or its service log). Open that link, then set a password.{' '}
              </>
            ) : (
              <>Ask an admin for an account. </>
            )}
            An admin can also make you a token with <code>ccweb token create --user NAME</code>: paste it under <em>Token</em>.
          </p>
        )}

        {external && (
          <>
            <div className="divider">
              <span>or</span>
            </div>
            <a className="button button-block" href={new URL(external.path, document.baseURI).toString()} data-testid="login-external">
              {external.label}
            </a>
          </>
        )}
      </div>
    </main>
  );
}
