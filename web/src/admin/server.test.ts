import { describe, expect, it } from 'vitest';
import { containmentText, limitMissing } from './ServerPage';

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
