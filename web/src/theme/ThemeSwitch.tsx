//! The theme switch: system, light or dark. Applies at once, then saves the
//! choice on the server (so it follows the user to other devices); a failed
//! save is reported and the choice stays for this browser.

import { api, errorMessage } from '../api/client';
import type { Theme } from '../api/types';
import { useToasts } from '../ui/toasts';
import { applyTheme, THEMES } from './theme';

const LABELS: Record<Theme, string> = { system: 'System', light: 'Light', dark: 'Dark' };

/** Props of `ThemeSwitch`. */
interface ThemeSwitchProps {
  value: Theme;
  onChange: (theme: Theme) => void;
}

/** The switch. */
export function ThemeSwitch({ value, onChange }: ThemeSwitchProps) {
  const toasts = useToasts();

  function choose(theme: Theme) {
    if (theme === value) return;
    applyTheme(theme);
    onChange(theme);
    api.setPreferences({ theme }).catch((e: unknown) => toasts.error(`The theme could not be saved for your other devices: ${errorMessage(e)}`));
  }

  return (
    <div className="segmented theme-switch" role="radiogroup" aria-label="Theme" data-testid="theme-switch">
      {THEMES.map((t) => (
        <button key={t} type="button" role="radio" aria-checked={value === t} className={value === t ? 'active' : ''} onClick={() => choose(t)} data-testid={`theme-${t}`}>
          {LABELS[t]}
        </button>
      ))}
    </div>
  );
}
