// @vitest-environment node
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { CredentialPolicy, Credentials } from '../api/types';
import { CredentialsView } from './CredentialsSection';

const render = (credentials: Credentials | null, policy: CredentialPolicy | undefined) =>
  renderToStaticMarkup(<CredentialsView credentials={credentials} policy={policy} onSaved={() => undefined} onDelete={() => undefined} />);

const keySet: Credentials = {
  anthropic_api_key: { set: true, hint: '…7c41', updated_at: '2025-06-01T12:00:00Z' },
  claude_oauth_token: { set: false },
};

describe('the Claude credentials section', () => {
  it('shows a set credential by its hint, with replace and delete, and an unset one with a field', () => {
    const html = render(keySet, 'optional');
    expect(html).toContain('Set, ends in …7c41');
    expect(html).toContain('Not set');
    expect(html).toContain('type="password"');
    expect(html.match(/data-testid="credential-delete"/g)).toHaveLength(1);
    expect(html).toContain('Replace');
    expect(html).toContain('Your sessions use your own credential');
  });

  it('explains the required and disabled policies, and offers no field when disabled', () => {
    const none: Credentials = { anthropic_api_key: { set: false }, claude_oauth_token: { set: false } };
    expect(render(none, 'required')).toContain('set one below before starting a session');
    const disabled = render(keySet, 'disabled');
    expect(disabled).toContain('you cannot store your own');
    expect(disabled).not.toContain('data-testid="credential-input"');
  });

  it('says it is loading before the credentials are known', () => {
    expect(render(null, undefined)).toContain('Loading');
  });
});
