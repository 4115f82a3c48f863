// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { passwordChangedText, passwordErrorText, passwordFormProblem } from './password';
import { shouldPromptForPassword } from './SetPasswordPrompt';

const ok = { hasPassword: true, current: 'old-password', next: 'new-password', confirm: 'new-password' };

describe('passwordFormProblem', () => {
  it('needs the current password only when one is set', () => {
    expect(passwordFormProblem({ ...ok, current: '' })).toBe('Enter your current password.');
    expect(passwordFormProblem({ ...ok, hasPassword: false, current: '' })).toBeNull();
    expect(passwordFormProblem(ok)).toBeNull();
  });

  it('follows the server policy and wants the new one twice', () => {
    expect(passwordFormProblem({ ...ok, next: '', confirm: '' })).toBe('Enter a new password.');
    expect(passwordFormProblem({ ...ok, next: 'short', confirm: 'short' })).toBe('New password: at least 8 characters.');
    expect(passwordFormProblem({ ...ok, confirm: 'new-passwort' })).toBe('The two new passwords differ.');
  });
});

describe('passwordErrorText', () => {
  it('names a wrong current password and the wait when rate limited', () => {
    expect(passwordErrorText(new ApiError(403, 'wrong_password', 'x'))).toBe('The current password is wrong.');
    expect(passwordErrorText(new ApiError(429, 'rate_limited', 'x', 30))).toBe('Too many wrong passwords. Try again in 30 seconds.');
    expect(passwordErrorText(new ApiError(400, 'invalid_input', 'password must be at least 8 characters long'))).toMatch(/at least 8/);
  });
});

describe('passwordChangedText', () => {
  it('says which logins ended', () => {
    expect(passwordChangedText(0, true)).toBe('Password set.');
    expect(passwordChangedText(1, false)).toBe('Password changed. 1 other login signed out.');
    expect(passwordChangedText(2, false)).toBe('Password changed. 2 other logins signed out.');
  });
});

describe('shouldPromptForPassword', () => {
  const me = (has_password: boolean, can_set_password: boolean) => ({
    user: { id: 1, name: 'admin', is_admin: true, has_password },
    can_set_password,
    preferences: { theme: 'system' as const },
    server: null,
  });
  const storage = (value: string | null) => ({ getItem: () => value });

  it('asks a user without a password who may set one, until put off in this tab', () => {
    expect(shouldPromptForPassword(me(false, true), storage(null))).toBe(true);
    expect(shouldPromptForPassword(me(false, true), storage('admin'))).toBe(false);
    expect(shouldPromptForPassword(me(false, true), storage('someone-else'))).toBe(true);
  });

  it('never asks someone with a password, or one who signs in through SSO', () => {
    expect(shouldPromptForPassword(me(true, true), storage(null))).toBe(false);
    expect(shouldPromptForPassword(me(false, false), storage(null))).toBe(false);
  });
});
