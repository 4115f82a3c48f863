//! Pure wording and checks of the "Claude credentials" section, mirroring
//! the server's rules (`PUT api/me/credentials`).

import type { CredentialKind, CredentialPolicy, CredentialState } from '../api/types';

/** The kinds, in the order the page lists them, with their names and help. */
export const CREDENTIAL_KINDS: { kind: CredentialKind; label: string; help: string }[] = [
  { kind: 'anthropic_api_key', label: 'Anthropic API key', help: 'From console.anthropic.com; billed to that account.' },
  { kind: 'claude_oauth_token', label: 'Claude subscription token', help: 'What “claude setup-token” prints; uses your Claude plan.' },
];

/** Shortest and longest values the server accepts. */
export const MIN_CREDENTIAL_CHARS = 8;
export const MAX_CREDENTIAL_CHARS = 1024;

/** Why a value cannot be sent, or null (the server checks the same). */
export function credentialProblem(value: string): string | null {
  if (value.length === 0) return 'Paste the key or token.';
  if (/\s/.test(value)) return 'No spaces or line breaks: paste the key or token alone.';
  if (!/^[\x21-\x7e]+$/.test(value)) return 'Only printable ASCII characters.';
  if (value.length < MIN_CREDENTIAL_CHARS) return `At least ${MIN_CREDENTIAL_CHARS} characters: paste the whole key or token.`;
  if (value.length > MAX_CREDENTIAL_CHARS) return `At most ${MAX_CREDENTIAL_CHARS} characters.`;
  return null;
}

/** What the page says of one kind: "Set, ends in …abcd" or "Not set". */
export function credentialStatusText(state: CredentialState | undefined): string {
  return state?.set ? `Set, ends in ${state.hint}` : 'Not set';
}

/** What the policy means for the user. */
export function credentialPolicyText(policy: CredentialPolicy | undefined, anySet: boolean): string {
  switch (policy) {
    case 'required':
      return anySet
        ? 'This server requires your own credential: your sessions use it. Nobody else’s sessions can.'
        : 'This server requires your own credential: set one below before starting a session.';
    case 'disabled':
      return 'This server uses its operator’s credential for every session; you cannot store your own.';
    default:
      return anySet
        ? 'Your sessions use your own credential (an API key wins when both are set). Nobody else’s sessions can.'
        : 'Your sessions use the server’s credential. Store your own to use your account or plan instead.';
  }
}
