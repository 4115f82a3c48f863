// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { formatWait, loginErrorText } from './LoginPage';

describe('loginErrorText', () => {
  it('says wrong username or password for 401', () => {
    expect(loginErrorText(new ApiError(401, 'unauthorized', 'x'), 'password')).toBe('Wrong username or password.');
    expect(loginErrorText(new ApiError(400, 'invalid_credentials', 'x'), 'password')).toBe('Wrong username or password.');
    expect(loginErrorText(new ApiError(401, 'unauthorized', 'x'), 'token')).toMatch(/token is not valid/);
  });

  it('names the wait when rate limited', () => {
    expect(loginErrorText(new ApiError(429, 'rate_limited', 'x', 30), 'password')).toBe('Too many attempts. Try again in 30 seconds.');
    expect(loginErrorText(new ApiError(429, 'rate_limited', 'x', 120), 'password')).toBe('Too many attempts. Try again in 2 minutes.');
    expect(loginErrorText(new ApiError(429, 'rate_limited', 'x'), 'password')).toMatch(/Wait a moment/);
  });

  it('explains a refused origin and used one-time tokens', () => {
    expect(loginErrorText(new ApiError(403, 'origin_not_allowed', 'x'), 'password')).toMatch(/public_url/);
    expect(loginErrorText(new ApiError(403, 'invalid_login_token', 'x'), 'token')).toMatch(/already used/);
  });
});

describe('formatWait', () => {
  it('uses seconds, then minutes', () => {
    expect(formatWait(1)).toBe('1 second');
    expect(formatWait(59)).toBe('59 seconds');
    expect(formatWait(61)).toBe('2 minutes');
  });
});
