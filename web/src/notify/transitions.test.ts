// @vitest-environment node
import { describe, expect, it } from 'vitest';
import type { SessionInfo } from '../api/types';
import { detectNotices, indexSessions } from './transitions';

function session(over: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id: 's1',
    owner: 'alice',
    mode: 'chat',
    state: 'running',
    working_dir: '/srv/p',
    title: 'p',
    created_at: '2025-01-01T00:00:00Z',
    last_activity_at: '2025-01-01T00:00:00Z',
    ended_at: null,
    exit_code: null,
    end_reason: null,
    claude_session_id: null,
    model: null,
    permission_mode: 'default',
    cols: 120,
    rows: 35,
    viewers: 0,
    needs_attention: false,
    usage: { cost_usd: 0, input_tokens: 0, output_tokens: 0 },
    activity: 'waiting',
    first_prompt: null,
    preview: null,
    project: '/home/alice/project',
    ...over,
  };
}

describe('detectNotices', () => {
  it('says nothing on the first poll', () => {
    expect(detectNotices(null, [session({ needs_attention: true })])).toEqual([]);
  });

  it('reports a new permission request once', () => {
    const prev = indexSessions([session()]);
    const now = [session({ needs_attention: true })];
    expect(detectNotices(prev, now).map((n) => n.kind)).toEqual(['needs_attention']);
    expect(detectNotices(indexSessions(now), now)).toEqual([]);
  });

  it('reports a finished turn from grown usage', () => {
    const prev = indexSessions([session()]);
    const now = [session({ usage: { cost_usd: 0.01, input_tokens: 10, output_tokens: 5 } })];
    expect(detectNotices(prev, now).map((n) => n.kind)).toEqual(['turn_finished']);
  });

  it('reports the end of a session with its exit code', () => {
    const prev = indexSessions([session({ mode: 'terminal' })]);
    const [notice] = detectNotices(prev, [session({ mode: 'terminal', state: 'exited', exit_code: 0 })]);
    expect(notice).toMatchObject({ kind: 'ended', body: 'The session ended (exit code 0).' });
  });

  it('ignores sessions it has not seen before', () => {
    expect(detectNotices(new Map(), [session({ needs_attention: true })])).toEqual([]);
  });
});
