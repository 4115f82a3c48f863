//! Switches between the admin pages.

import { hrefFor } from '../router';

/** An admin page. */
type AdminPage = 'admin_users' | 'admin_sessions' | 'admin_audit' | 'admin_server';

/** The tabs; `current` is marked for assistive technology. */
export function AdminNav({ current }: { current: AdminPage }) {
  const link = (page: AdminPage, label: string) => (
    <a href={hrefFor({ page })} className={current === page ? 'active' : ''} aria-current={current === page ? 'page' : undefined} data-testid={`nav-${page}`}>
      {label}
    </a>
  );
  return (
    <nav className="segmented admin-nav" aria-label="Administration">
      {link('admin_users', 'Users')}
      {link('admin_sessions', 'All sessions')}
      {link('admin_audit', 'Audit log')}
      {link('admin_server', 'Server')}
    </nav>
  );
}
