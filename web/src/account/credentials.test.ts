// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { credentialPolicyText, credentialProblem, credentialStatusText } from './credentials';

describe('credentialProblem', () => {
  it('accepts a key and refuses what the server refuses', () => {
    expect(credentialProblem('sk-ant-api03-abcdefgh')).toBeNull();
    expect(credentialProblem('')).toMatch(/Paste/);
    expect(credentialProblem('sk-ant two-parts')).toMatch(/spaces/);
    expect(credentialProblem('sk-ant\nnext-line')).toMatch(/line breaks/);
    expect(credentialProblem('sk-ant-ößü-abc')).toMatch(/ASCII/);
    expect(credentialProblem('short')).toMatch(/at least 8/i);
    expect(credentialProblem('k'.repeat(1025))).toMatch(/1024/);
  });
});

describe('the wording', () => {
  it('shows the hint of a set credential, never more', () => {
    expect(credentialStatusText({ set: true, hint: '…abcd', updated_at: '2025-01-01T00:00:00Z' })).toBe('Set, ends in …abcd');
    expect(credentialStatusText({ set: false })).toBe('Not set');
    expect(credentialStatusText(undefined)).toBe('Not set');
  });
  it('explains each policy', () => {
    expect(credentialPolicyText('required', false)).toMatch(/requires your own credential: set one/);
    expect(credentialPolicyText('disabled', false)).toMatch(/cannot store your own/);
    expect(credentialPolicyText('optional', false)).toMatch(/server’s credential/);
    expect(credentialPolicyText('optional', true)).toMatch(/your own credential/);
  });
});
