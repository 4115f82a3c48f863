//! Pure helpers of the API token list: lifetimes to choose from, a
//! token's status, and name checks that mirror the server's.

import type { ApiToken } from '../api/types';

/** A lifetime offered when creating a token or a share link. */
export interface ExpiryChoice {
  label: string;
  /** Seconds from now; null for "never". */
  secs: number | null;
}

const DAY_SECS = 86_400;

/** Lifetimes for new API tokens. */
export const TOKEN_EXPIRY_CHOICES: readonly ExpiryChoice[] = [
  { label: '30 days', secs: 30 * DAY_SECS },
  { label: '90 days', secs: 90 * DAY_SECS },
  { label: '1 year', secs: 365 * DAY_SECS },
  { label: 'Never', secs: null },
];

/** The server's limit on token names, in characters. */
export const MAX_TOKEN_NAME_CHARS = 100;

/** Whether a token still works. */
export type TokenStatus = 'active' | 'revoked' | 'expired';

/** A token's status at `now` (revoked wins over expired). */
export function tokenStatus(token: Pick<ApiToken, 'revoked_at' | 'expires_at'>, now: number = Date.now()): TokenStatus {
  if (token.revoked_at) return 'revoked';
  if (token.expires_at) {
    const t = Date.parse(token.expires_at);
    if (!Number.isNaN(t) && t <= now) return 'expired';
  }
  return 'active';
}

/** Why a token name cannot be sent, or null when it can. */
export function tokenNameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (!trimmed) return 'Give the token a name, e.g. what script uses it.';
  if ([...trimmed].length > MAX_TOKEN_NAME_CHARS) return `At most ${MAX_TOKEN_NAME_CHARS} characters.`;
  return null;
}

/** A short local date and time, or "—". */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  return new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
