//! A read-only text field with a Copy button, for secrets and links. When
//! the browser refuses the clipboard (plain http), the text is selected so
//! the user can copy it by hand.

import { useId, useRef, useState } from 'react';
import { copyText } from '../terminal/clipboard';

/** Props of `CopyField`. */
interface CopyFieldProps {
  label: string;
  value: string;
  testId?: string;
}

/** The field. */
export function CopyField({ label, value, testId }: CopyFieldProps) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'refused' | null>(null);

  async function copy() {
    const ok = await copyText(value);
    setCopied(ok ? 'yes' : 'refused');
    if (!ok) input.current?.select();
  }

  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <div className="copy-row">
        <input
          id={id}
          ref={input}
          className="mono"
          readOnly
          value={value}
          onFocus={(e) => e.currentTarget.select()}
          data-testid={testId}
        />
        <button type="button" className="button" onClick={() => void copy()} data-testid={testId ? `${testId}-copy` : undefined}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <span className="muted small" role="status">
        {copied === 'refused' ? 'The browser did not allow copying: the text is selected, press Ctrl+C (⌘C).' : ''}
      </span>
    </div>
  );
}
