// Markdown → sanitised HTML: marked for parsing, highlight.js for code
// blocks, DOMPurify (own instance, so other code's hooks do not mix in) for
// the output. Only `renderMarkdown`'s result may reach innerHTML.

import createDOMPurify, { type DOMPurify } from 'dompurify';
import { Marked, type Tokens } from 'marked';
import { escapeHtml, highlightCode } from './highlight';

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    code({ text, lang }: Tokens.Code): string {
      const language = (lang ?? '').trim().split(/\s+/)[0] ?? '';
      const body = highlightCode(text.replace(/\n$/, ''), language);
      const label = language ? `<span class="md-code-lang">${escapeHtml(language)}</span>` : '<span></span>';
      return (
        `<div class="md-code"><div class="md-code-head">${label}` +
        `<button type="button" class="md-copy" aria-label="Copy code">Copy</button></div>` +
        `<pre><code class="hljs${language ? ` language-${escapeHtml(language)}` : ''}">${body}</code></pre></div>\n`
      );
    },
  },
});

let purifier: DOMPurify | null = null;

function purify(): DOMPurify {
  if (purifier) return purifier;
  const p = createDOMPurify(window);
  p.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
  purifier = p;
  return p;
}

/** Sanitised HTML for a Markdown text. */
export function renderMarkdown(text: string): string {
  let html: string;
  try {
    html = marked.parse(text, { async: false }) as string;
  } catch {
    html = `<pre>${escapeHtml(text)}</pre>`;
  }
  return purify().sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'textarea', 'select', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
  });
}
