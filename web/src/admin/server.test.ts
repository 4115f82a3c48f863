import { describe, expect, it } from 'vitest';
import { containmentText, credentialPolicyAdminText, isolationText, limitMissing } from './ServerPage';

describe('the server page', () => {
  it('explains each containment kind', () => {
    expect(containmentText('cgroup-v2')).toContain('every process');
    expect(containmentText('process-tree')).toContain('process tree');
    expect(containmentText('other')).toBe('other');
  });

  it('marks limits that are not enforced', () => {
    expect(limitMissing('session_max_processes = 2048: cgroup v2 pids.max')).toBe(false);
    expect(limitMissing('session_max_memory_bytes = 1: NOT enforced (cgroup v2: no)')).toBe(true);
  });
});

describe('the isolation section', () => {
  it('says what a shared identity means when it is allowed', () => {
    const shared = isolationText({ mode: 'none', allow_shared_identity: true });
    expect(shared.shared).toBe(true);
    expect(shared.detail).toContain('everyone’s agent can read and change everyone’s work');
    expect(shared.detail).toContain('one credential');
    expect(isolationText({ mode: 'none', allow_shared_identity: false }).title).toContain('one user');
    expect(isolationText({ mode: 'unix', allow_shared_identity: false }).detail).toContain('cannot read or change another');
  });

  it('words each credential policy', () => {
    expect(credentialPolicyAdminText('required')).toContain('must store their own');
    expect(credentialPolicyAdminText('disabled')).toContain('cannot store their own');
    expect(credentialPolicyAdminText('optional')).toContain('may store their own');
  });
});
