//! Hash routing (`#/sessions/<id>`): the server needs to know nothing about
//! client routes, and it works the same under any URL sub-path.

import { useEffect, useState } from 'react';

/** What a session page shows for a terminal session. */
export type SessionTab = 'terminal' | 'transcript';

/** A place in the app. */
export type Route =
  | { page: 'home' }
  | { page: 'session'; id: string; readonly: boolean; tab: SessionTab }
  | { page: 'not_found'; hash: string };

/** Parses `location.hash`. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const path = pathPart.replace(/\/+$/, '');
  const query = new URLSearchParams(queryPart);
  if (path === '' || path === '/' || path === '/sessions') return { page: 'home' };
  const m = /^\/sessions\/([^/]+)$/.exec(path);
  if (m) {
    let id: string;
    try {
      id = decodeURIComponent(m[1]);
    } catch {
      return { page: 'not_found', hash };
    }
    const ro = query.get('readonly');
    return {
      page: 'session',
      id,
      readonly: ro === '1' || ro === 'true',
      tab: query.get('view') === 'transcript' ? 'transcript' : 'terminal',
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
