//! The colour theme: the user's choice (system, light or dark; kept on the
//! server per user and cached in localStorage) resolved to the light or dark
//! set of CSS variables via `<html data-theme>`. `public/theme-init.js`
//! applies the cached choice before the first paint (no flash); this module
//! takes over once the app runs, following the system while the choice is
//! "system".

import type { Theme } from '../api/types';

/** localStorage key of the cached choice (also read by `public/theme-init.js`). */
export const THEME_STORAGE_KEY = 'ccweb.theme';

/** The choices, in the order the switch shows them. */
export const THEMES: readonly Theme[] = ['system', 'light', 'dark'];

/** The browser bar colour of each resolved theme (the header's background). */
const THEME_COLOR: Record<'light' | 'dark', string> = { light: '#ffffff', dark: '#232329' };

/** A stored value as a theme; anything else is "system". */
export function parseTheme(value: string | null | undefined): Theme {
  return value === 'light' || value === 'dark' ? value : 'system';
}

/** The set of colours a choice shows, given whether the system prefers dark. */
export function resolveTheme(choice: Theme, systemDark: boolean): 'light' | 'dark' {
  if (choice === 'system') return systemDark ? 'dark' : 'light';
  return choice;
}

function systemPrefersDark(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches;
}

/** The cached choice of this browser. */
export function cachedTheme(): Theme {
  try {
    return parseTheme(localStorage.getItem(THEME_STORAGE_KEY));
  } catch {
    return 'system';
  }
}

/** The choice in force now. */
let current: Theme = 'system';

/** Shows `choice` on `doc` and caches it for the next load. */
export function applyTheme(choice: Theme, doc: Document = document): void {
  current = choice;
  try {
    localStorage.setItem(THEME_STORAGE_KEY, choice);
  } catch {
    // Storage disabled: the server's copy still applies after login.
  }
  const resolved = resolveTheme(choice, systemPrefersDark());
  const root = doc.documentElement;
  root.dataset.theme = resolved;
  root.dataset.themeChoice = choice;
  doc.querySelectorAll('meta[name="theme-color"]').forEach((m) => m.setAttribute('content', THEME_COLOR[resolved]));
}

/** The choice in force now. */
export function currentTheme(): Theme {
  return current;
}

/** Applies the cached choice and follows system changes while it is "system". */
export function startTheme(): void {
  applyTheme(cachedTheme());
  if (typeof window === 'undefined' || typeof window.matchMedia !== 'function') return;
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (current === 'system') applyTheme('system');
  });
}
