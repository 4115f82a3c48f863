// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { titleProblem } from './actions';

describe('titleProblem', () => {
  it('follows the server rules', () => {
    expect(titleProblem('ok')).toBeNull();
    expect(titleProblem('  ')).toMatch(/empty/);
    expect(titleProblem('a'.repeat(201))).toMatch(/200/);
    expect(titleProblem('a\u0007b')).toMatch(/control/);
  });
});
