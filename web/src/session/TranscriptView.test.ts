// @vitest-environment node
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../api/types';
import { eventItems, toolSummary } from './TranscriptView';

describe('eventItems', () => {
  it('shows user and assistant text, thinking and tool calls', () => {
    expect(eventItems({ kind: 'user_message', text: 'hi', by: 'alice' })).toEqual([{ kind: 'user', text: 'hi', by: 'alice' }]);
    const reply: ChatEvent = {
      kind: 'assistant_message',
      message_id: 'm1',
      content: [
        { type: 'thinking', thinking: 'hmm' },
        { type: 'text', text: 'Hello' },
        { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls -la' } },
      ],
    };
    expect(eventItems(reply)).toEqual([
      { kind: 'thinking', text: 'hmm' },
      { kind: 'assistant', text: 'Hello' },
      { kind: 'tool', text: 'Bash: ls -la' },
    ]);
  });

  it('skips noise and reports errors', () => {
    expect(eventItems({ kind: 'assistant_delta', text: 'x' })).toEqual([]);
    expect(eventItems({ kind: 'system', subtype: 'init' })).toEqual([]);
    expect(eventItems({ kind: 'result', subtype: 'success', is_error: false, cost_usd: 0 })).toEqual([]);
    expect(eventItems({ kind: 'error', code: 'cli_stderr', message: 'boom' })).toEqual([{ kind: 'note', text: 'boom', error: true }]);
  });
});

describe('toolSummary', () => {
  it('picks the telling field and shortens it', () => {
    expect(toolSummary({ name: 'Read', input: { file_path: '/a/b.rs' } })).toBe('Read: /a/b.rs');
    expect(toolSummary({ name: 'TodoWrite', input: { todos: [] } })).toBe('TodoWrite');
    expect(toolSummary({ name: 'Bash', input: { command: 'x'.repeat(300) } })).toHaveLength('Bash: '.length + 161);
  });
});
