//! Keys a phone keyboard lacks (Esc, Tab, Shift+Tab, Ctrl+C, arrows),
//! shown on touch screens. Buttons keep the focus in the terminal so the
//! on-screen keyboard stays open.

import { SPECIAL_KEYS } from './protocol';

const KEYS: { label: string; aria: string; seq: string }[] = [
  { label: 'Esc', aria: 'Escape', seq: SPECIAL_KEYS.esc },
  { label: 'Tab', aria: 'Tab', seq: SPECIAL_KEYS.tab },
  { label: '⇧Tab', aria: 'Shift Tab (switch mode)', seq: SPECIAL_KEYS.shiftTab },
  { label: '^C', aria: 'Control C (interrupt)', seq: SPECIAL_KEYS.ctrlC },
  { label: '←', aria: 'Arrow left', seq: SPECIAL_KEYS.left },
  { label: '↑', aria: 'Arrow up', seq: SPECIAL_KEYS.up },
  { label: '↓', aria: 'Arrow down', seq: SPECIAL_KEYS.down },
  { label: '→', aria: 'Arrow right', seq: SPECIAL_KEYS.right },
  { label: '⏎', aria: 'Enter', seq: SPECIAL_KEYS.enter },
];

/** The key bar. */
export function KeyBar({ onKey }: { onKey: (seq: string) => void }) {
  return (
    <div className="key-bar" role="toolbar" aria-label="Terminal keys" data-testid="terminal-keybar">
      {KEYS.map((k) => (
        <button
          key={k.aria}
          type="button"
          className="key"
          aria-label={k.aria}
          onPointerDown={(e) => e.preventDefault()}
          onClick={() => onKey(k.seq)}
        >
          {k.label}
        </button>
      ))}
    </div>
  );
}
