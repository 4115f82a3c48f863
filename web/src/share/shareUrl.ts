//! Share links: the full URL to hand out, lifetimes to choose from, and a
//! link's status.
//!
//! The server answers a created link with `path: "#/share/<token>"`, the
//! app route relative to the app's address (`share/<token>` is accepted
//! too). The URL handed out is `<app base>#/share/<token>`: it loads the
//! app from its own base (assets resolve as usual, under a proxy sub-path
//! too) and needs no server route.

import type { Share } from '../api/types';
import type { ExpiryChoice } from '../account/tokens';

const HOUR_SECS = 3600;

/** Lifetimes for new share links. */
export const SHARE_EXPIRY_CHOICES: readonly ExpiryChoice[] = [
  { label: '1 hour', secs: HOUR_SECS },
  { label: '1 day', secs: 24 * HOUR_SECS },
  { label: '7 days', secs: 7 * 24 * HOUR_SECS },
  { label: 'Never', secs: null },
];

/** The app's base URL (the directory of the document, no query or hash). */
export function appBase(baseURI: string): string {
  const url = new URL('./', baseURI);
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The full URL of a share link from the server's `path` (`#/share/<token>` or `share/<token>`). */
export function shareUrl(baseURI: string, path: string): string {
  const clean = path.replace(/^[/#]+/, '');
  return `${appBase(baseURI)}#/${clean}`;
}

/** Whether a link still opens the session. */
export type ShareStatus = 'active' | 'revoked' | 'expired';

/** A link's status at `now` (revoked wins over expired). */
export function shareStatus(share: Pick<Share, 'revoked_at' | 'expires_at'>, now: number = Date.now()): ShareStatus {
  if (share.revoked_at) return 'revoked';
  if (share.expires_at) {
    const t = Date.parse(share.expires_at);
    if (!Number.isNaN(t) && t <= now) return 'expired';
  }
  return 'active';
}
