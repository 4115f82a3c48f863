//! Single-key shortcuts that stay out of the way of typing: ignored while
//! focus is in a field, the terminal or an open dialog, or with modifiers.

import { useEffect, useRef } from 'react';

/** Whether the key press happened where typing is expected. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof Element)) return false;
  if (target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"], .xterm')) return true;
  return false;
}

/** Binds keys (by `KeyboardEvent.key`) to actions while mounted. */
export function useShortcuts(bindings: Record<string, () => void>, enabled = true): void {
  const ref = useRef(bindings);
  ref.current = bindings;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (isTypingTarget(e.target)) return;
      if (document.querySelector('dialog[open]')) return;
      const action = ref.current[e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enabled]);
}

/** The shortcut list shown by `?`. */
export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: '?', what: 'Show this list' },
  { keys: 'n', what: 'New session (sessions list)' },
  { keys: '/', what: 'Filter sessions (sessions list)' },
  { keys: 'g', what: 'Go to the sessions list' },
  { keys: 't', what: 'Terminal ⇄ transcript (terminal sessions)' },
  { keys: 'Esc', what: 'Close a dialog' },
  { keys: 'Ctrl/⌘ + Shift + C', what: 'Copy the terminal selection' },
  { keys: 'Ctrl/⌘ + Shift + V', what: 'Paste into the terminal' },
  { keys: 'Right click', what: 'Copy the selection, or paste when nothing is selected' },
];
