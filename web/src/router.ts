//! Hash routing (`#/sessions/<id>`, `#/account`, `#/admin/users`,
//! `#/admin/sessions`, `#/admin/audit`, `#/admin/server`, `#/share/<token>`): the server needs to know nothing
//! about client routes, and it works the same under any URL sub-path.

import { useEffect, useState } from 'react';

/** What a session page shows for a terminal session. */
export type SessionTab = 'terminal' | 'transcript';

/** A place in the app. */
export type Route =
  | { page: 'home' }
  | { page: 'session'; id: string; readonly: boolean; tab: SessionTab }
  | { page: 'account' }
  | { page: 'admin_users' }
  /** Everyone's sessions (admins), optionally only `owner`'s. */
  | { page: 'admin_sessions'; owner?: string }
  | { page: 'admin_audit' }
  | { page: 'admin_server' }
  /** A session seen read-only through a share link. */
  | { page: 'share'; token: string; tab: SessionTab }
  | { page: 'not_found'; hash: string };

/** Pages reached by a fixed path. */
const FIXED: Record<string, Route> = {
  '/account': { page: 'account' },
  '/admin/users': { page: 'admin_users' },
  '/admin': { page: 'admin_users' },
  '/admin/audit': { page: 'admin_audit' },
  '/admin/server': { page: 'admin_server' },
};

/** `decodeURIComponent`, or null for a malformed escape. */
function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** Parses `location.hash`. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const path = pathPart.replace(/\/+$/, '');
  const query = new URLSearchParams(queryPart);
  if (path === '' || path === '/' || path === '/sessions') return { page: 'home' };
  if (Object.hasOwn(FIXED, path)) return FIXED[path];
  if (path === '/admin/sessions') return { page: 'admin_sessions', owner: query.get('owner') || undefined };
  const tab: SessionTab = query.get('view') === 'transcript' ? 'transcript' : 'terminal';
  const share = /^\/share\/([^/]+)$/.exec(path);
  if (share) {
    const token = decode(share[1]);
    return token ? { page: 'share', token, tab } : { page: 'not_found', hash };
  }
  const m = /^\/sessions\/([^/]+)$/.exec(path);
  if (m) {
    const id = decode(m[1]);
    if (id === null) return { page: 'not_found', hash };
    const ro = query.get('readonly');
    return {
      page: 'session',
      id,
      readonly: ro === '1' || ro === 'true',
      tab,
    };
  }
  return { page: 'not_found', hash };
}

/** The `#…` link of a route. */
export function hrefFor(route: Route): string {
  switch (route.page) {
    case 'home':
      return '#/';
    case 'not_found':
      return route.hash || '#/';
    case 'account':
      return '#/account';
    case 'admin_users':
      return '#/admin/users';
    case 'admin_sessions':
      return route.owner ? `#/admin/sessions?owner=${encodeURIComponent(route.owner)}` : '#/admin/sessions';
    case 'admin_audit':
      return '#/admin/audit';
    case 'admin_server':
      return '#/admin/server';
    case 'share':
      return `#/share/${encodeURIComponent(route.token)}${route.tab === 'transcript' ? '?view=transcript' : ''}`;
    case 'session': {
      const q = new URLSearchParams();
      if (route.readonly) q.set('readonly', '1');
      if (route.tab === 'transcript') q.set('view', 'transcript');
      const qs = q.toString();
      return `#/sessions/${encodeURIComponent(route.id)}${qs ? `?${qs}` : ''}`;
    }
  }
}

/** The link of a session page with default options. */
export function sessionHref(id: string, opts: { readonly?: boolean; tab?: SessionTab } = {}): string {
  return hrefFor({ page: 'session', id, readonly: opts.readonly ?? false, tab: opts.tab ?? 'terminal' });
}

/** Goes to a route; `replace` keeps the history entry (option toggles). */
export function navigate(route: Route, replace = false): void {
  const href = hrefFor(route);
  if (replace) {
    history.replaceState(history.state, '', href);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = href;
  }
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
