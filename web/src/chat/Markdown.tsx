import { useMemo, type MouseEvent } from 'react';
import { renderMarkdown } from './markdown';
import { copyText } from './clipboard';

/** Rendered Markdown; the HTML is sanitised by `renderMarkdown`. */
export function Markdown({ text, className }: { text: string; className?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const btn = (e.target as HTMLElement).closest('.md-copy');
    if (!btn) return;
    const code = btn.closest('.md-code')?.querySelector('code');
    if (!code) return;
    void copyText(code.textContent ?? '').then((ok) => {
      btn.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(() => {
        btn.textContent = 'Copy';
      }, 1500);
    });
  };
  return (
    <div
      className={`md${className ? ` ${className}` : ''}`}
      onClick={onClick}
      // Sanitised by DOMPurify in renderMarkdown.
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
