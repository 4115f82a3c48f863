import { afterEach, describe, expect, it, vi } from 'vitest';
import script from '../../public/theme-init.js?raw';
import { applyTheme, cachedTheme, parseTheme, resolveTheme, THEME_STORAGE_KEY } from './theme';

/** Makes `matchMedia('(prefers-color-scheme: dark)')` answer `dark`. */
function systemDark(dark: boolean) {
  vi.stubGlobal('matchMedia', (q: string) => ({ matches: dark && q.includes('dark'), addEventListener: () => undefined }));
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  delete document.documentElement.dataset.theme;
});

describe('the theme', () => {
  it('resolves a choice against the system preference', () => {
    expect(resolveTheme('system', true)).toBe('dark');
    expect(resolveTheme('system', false)).toBe('light');
    expect(resolveTheme('light', true)).toBe('light');
    expect(resolveTheme('dark', false)).toBe('dark');
    expect(parseTheme('pink')).toBe('system');
    expect(parseTheme(null)).toBe('system');
  });

  it('overrides the system on <html> and caches the choice', () => {
    systemDark(true);
    applyTheme('light');
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('light');
    expect(cachedTheme()).toBe('light');
    applyTheme('system');
    expect(document.documentElement.dataset.theme).toBe('dark');
    systemDark(false);
    applyTheme('dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
  });

  it('is applied before the first paint by public/theme-init.js with the same key', () => {
    expect(script).toContain(`'${THEME_STORAGE_KEY}'`);
    for (const [stored, dark, want] of [
      ['dark', false, 'dark'],
      ['light', true, 'light'],
      ['system', true, 'dark'],
      [null, false, 'light'],
    ] as const) {
      systemDark(dark);
      localStorage.clear();
      if (stored) localStorage.setItem(THEME_STORAGE_KEY, stored);
      new Function(script)();
      expect(document.documentElement.dataset.theme, `${stored} on a ${dark ? 'dark' : 'light'} system`).toBe(want);
    }
  });
});
