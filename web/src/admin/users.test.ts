// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { passwordProblem, userNameProblem } from './users';

describe('userNameProblem', () => {
  it('follows the server pattern', () => {
    for (const ok of ['bob', 'a', '0x', 'b.o_b-1', 'x'.repeat(64)]) expect(userNameProblem(ok)).toBeNull();
    for (const bad of ['', 'Bob', '-bob', '.b', 'b b', 'x'.repeat(65), 'é']) expect(userNameProblem(bad)).not.toBeNull();
  });
});

describe('passwordProblem', () => {
  it('wants at least 8 characters, or nothing when optional', () => {
    expect(passwordProblem('')).not.toBeNull();
    expect(passwordProblem('', true)).toBeNull();
    expect(passwordProblem('1234567')).toMatch(/8/);
    expect(passwordProblem('12345678')).toBeNull();
  });
});
