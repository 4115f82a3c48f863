// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { parseEvent, parseEventsPage, parseServerMessage } from './protocol';

const ev = (seq: number, event: unknown) => JSON.stringify({ type: 'event', seq, at: '2026-01-01T00:00:00Z', event });

describe('parseServerMessage', () => {
  it('parses connected with the session and last_seq', () => {
    const m = parseServerMessage(
      JSON.stringify({ type: 'connected', session: { id: 's1', state: 'running', mode: 'chat' }, last_seq: 7 }),
    );
    expect(m).toEqual({ type: 'connected', session: { id: 's1', state: 'running', mode: 'chat' }, last_seq: 7 });
  });

  it('parses error and pong', () => {
    expect(parseServerMessage('{"type":"error","code":"bad_message","message":"no"}')).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'no',
    });
    expect(parseServerMessage('{"type":"pong"}')).toEqual({ type: 'pong' });
  });

  it('never throws on garbage', () => {
    for (const t of ['', 'nope', '[1]', 'null', '42', '{"type":7}', '{"type":"connected"}', '{"type":"event"}']) {
      const m = parseServerMessage(t);
      expect(m.type).toBe('unknown');
    }
  });

  it('keeps unknown message types', () => {
    const m = parseServerMessage('{"type":"text_delta","raw":true,"data":"x"}');
    expect(m.type).toBe('unknown');
    if (m.type === 'unknown') expect(m.reason).toContain('text_delta');
  });

  it('requires an integer seq on events', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'event', seq: '1', event: { kind: 'state', state: 'idle' } })).type).toBe(
      'unknown',
    );
    expect(parseServerMessage(JSON.stringify({ type: 'event', seq: 1.5, event: { kind: 'state', state: 'idle' } })).type).toBe(
      'unknown',
    );
  });

  it('parses every event kind', () => {
    const cases: [unknown, string][] = [
      [{ kind: 'system', subtype: 'init', model: 'm', tools: ['Bash'], slash_commands: ['compact'] }, 'system'],
      [{ kind: 'user_message', text: 'hi', images: ['image/png'], by: 'alice' }, 'user_message'],
      [{ kind: 'assistant_delta', message_id: 'm1', index: 0, delta_type: 'text', text: 'He' }, 'assistant_delta'],
      [{ kind: 'assistant_message', message_id: 'm1', content: [{ type: 'text', text: 'Hello' }] }, 'assistant_message'],
      [{ kind: 'tool_result', tool_use_id: 't1', content: 'ok', is_error: false }, 'tool_result'],
      [
        { kind: 'permission_request', request_id: 'r1', tool_name: 'Bash', input: { command: 'ls' }, prompt_kind: 'tool' },
        'permission_request',
      ],
      [{ kind: 'permission_resolved', request_id: 'r1', resolution: 'allow', by: 'alice' }, 'permission_resolved'],
      [
        { kind: 'result', subtype: 'success', is_error: false, cost_usd: 0.01, input_tokens: 10, output_tokens: 5 },
        'result',
      ],
      [{ kind: 'state', state: 'idle', needs_attention: false }, 'state'],
      [{ kind: 'error', code: 'cli_stderr', message: 'boom' }, 'error'],
    ];
    for (const [event, kind] of cases) {
      const m = parseServerMessage(ev(1, event));
      expect(m.type).toBe('event');
      if (m.type === 'event') expect(m.event.kind).toBe(kind);
    }
  });

  it('fills defaults for optional fields', () => {
    const m = parseServerMessage(ev(3, { kind: 'result', subtype: 'success', is_error: false }));
    if (m.type !== 'event' || m.event.kind !== 'result') throw new Error('not a result');
    expect(m.event).toMatchObject({ cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_ms: 0, errors: [] });
    const p = parseEvent({ kind: 'permission_request', request_id: 'r', tool_name: 'X' });
    expect(p).toMatchObject({ kind: 'permission_request', input: {}, suggestions: [], prompt_kind: 'tool' });
  });
});

describe('parseEvent', () => {
  it('turns unknown kinds into unknown events, keeping the raw object', () => {
    const raw = { kind: 'hologram', x: 1 };
    const e = parseEvent(raw);
    expect(e).toMatchObject({ kind: 'unknown', original_kind: 'hologram', raw });
  });

  it('turns malformed known kinds into unknown events with a reason', () => {
    const e = parseEvent({ kind: 'assistant_delta', index: 0, delta_type: 'sparkles', text: 'x' });
    expect(e.kind).toBe('unknown');
    if (e.kind === 'unknown') expect(e.reason).toContain('delta_type');
    expect(parseEvent({ kind: 'tool_result', content: 'x' }).kind).toBe('unknown');
    expect(parseEvent({ kind: 'assistant_message', message_id: 'm', content: 'x' }).kind).toBe('unknown');
    expect(parseEvent('str').kind).toBe('unknown');
    expect(parseEvent(null).kind).toBe('unknown');
  });

  it('normalises content blocks', () => {
    const e = parseEvent({
      kind: 'assistant_message',
      message_id: 'm',
      content: [
        { type: 'text', text: 'a' },
        { type: 'thinking', thinking: 'hmm', signature: 'x' },
        { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } },
        { type: 'tool_use', id: 't2', name: 'Read' },
        { type: 'server_tool_use', id: 'z' },
        { type: 'redacted_thinking', data: '…' },
      ],
    });
    if (e.kind !== 'assistant_message') throw new Error('kind');
    expect(e.content).toEqual([
      { type: 'text', text: 'a' },
      { type: 'thinking', thinking: 'hmm' },
      { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } },
      { type: 'tool_use', id: 't2', name: 'Read', input: {} },
      { type: 'other', raw: { type: 'server_tool_use', id: 'z' } },
      { type: 'redacted_thinking' },
    ]);
  });

  it('shows a prompt kind from a newer server as a tool prompt', () => {
    const e = parseEvent({ kind: 'permission_request', request_id: 'r', tool_name: 'X', input: {}, prompt_kind: 'dialog' });
    expect(e).toMatchObject({ prompt_kind: 'tool' });
  });
});

describe('parseEventsPage', () => {
  it('parses a page of the events endpoint', () => {
    const page = parseEventsPage({
      events: [
        { seq: 1, at: 'a', event: { kind: 'state', state: 'idle' } },
        { seq: 'bad', event: {} },
        { seq: 2, at: 'b', event: { kind: 'nope' } },
      ],
      last_seq: 9,
    });
    expect(page?.last_seq).toBe(9);
    expect(page?.events.map((e) => [e.seq, e.event.kind])).toEqual([
      [1, 'state'],
      [2, 'unknown'],
    ]);
    expect(parseEventsPage({})).toBeNull();
  });
});
