// @vitest-environment node
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { LoginPage } from './LoginPage';

const render = (loginLink: boolean | null) => renderToStaticMarkup(<LoginPage onLogin={() => undefined} loginLink={loginLink} />);

describe('the login page tells a first-time user how to get in', () => {
  it('points to the one-time link when the server printed one', () => {
    const html = render(true);
    expect(html).toContain('data-testid="login-first-time"');
    expect(html).toContain('printed a one-time login link');
    expect(html).toContain('ccweb token create --user NAME');
  });

  it('does not mention a link the server did not print, nor anything before it knows', () => {
    const html = render(false);
    expect(html).toContain('Ask an admin for an account');
    expect(html).not.toContain('one-time login link');
    expect(render(null)).not.toContain('login-first-time');
  });
});
