//! The terminal's colours and font.
//!
//! The terminal stays dark in both app themes on purpose: Claude Code picks
//! its own colours for a dark terminal by default, and several of them
//! (explicit near-white RGB) vanish on a light background.

import type { ITheme } from '@xterm/xterm';

/** Colours (a dark palette close to VS Code's). */
export const TERMINAL_THEME: ITheme = {
  background: '#16161b',
  foreground: '#e4e4e7',
  cursor: '#e8845a',
  cursorAccent: '#16161b',
  selectionBackground: 'rgba(232, 132, 90, 0.35)',
  black: '#1e1e24',
  red: '#f47067',
  green: '#8ddb8c',
  yellow: '#e5c07b',
  blue: '#6cb6ff',
  magenta: '#dcbdfb',
  cyan: '#56d4dd',
  white: '#d4d4d8',
  brightBlack: '#71717a',
  brightRed: '#ff938a',
  brightGreen: '#b4f1b4',
  brightYellow: '#f0d399',
  brightBlue: '#96d0ff',
  brightMagenta: '#eedcff',
  brightCyan: '#8ff0f5',
  brightWhite: '#fafafa',
};

/** System monospace fonts: nothing to download, nothing for the CSP to refuse. */
export const TERMINAL_FONT = 'ui-monospace, "SF Mono", SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace';

/** Smaller cells on phones so a useful number of columns fits. */
export function terminalFontSize(viewportWidth: number): number {
  if (viewportWidth < 480) return 12;
  if (viewportWidth < 900) return 13;
  return 14;
}
