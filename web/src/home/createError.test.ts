// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { createErrorText } from './NewSessionDialog';

describe('createErrorText', () => {
  it('sends a user without their own credential to the Account page', () => {
    expect(createErrorText(new ApiError(403, 'credential_required', 'x'))).toContain('Account page');
    expect(createErrorText(new ApiError(409, 'credential_unreadable', 'x'))).toContain('set it again on the Account page');
  });
  it('shows the server’s message otherwise', () => {
    expect(createErrorText(new ApiError(400, 'something_else', 'the server says why'))).toBe('the server says why');
  });
});
