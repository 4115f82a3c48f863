import { describe, expect, it, vi } from 'vitest';
import { isWebLink, openWebLink } from './links';

describe('terminal links', () => {
  it('opens only http and https links, without an opener', () => {
    const open = vi.fn();
    expect(openWebLink('https://example.com/a?b=c', open)).toBe(true);
    expect(open).toHaveBeenCalledWith('https://example.com/a?b=c', '_blank', 'noopener,noreferrer');
    expect(openWebLink('http://localhost:8080/', open)).toBe(true);
  });

  it('ignores javascript:, data:, file: and garbage (OSC 8 links are untrusted)', () => {
    const open = vi.fn();
    for (const uri of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', ' javascript:alert(1)', 'data:text/html,<script>1</script>', 'file:///etc/passwd', 'vbscript:x', '//evil.example', 'not a url', '']) {
      expect(isWebLink(uri), uri).toBe(false);
      expect(openWebLink(uri, open), uri).toBe(false);
    }
    expect(open).not.toHaveBeenCalled();
  });
});
