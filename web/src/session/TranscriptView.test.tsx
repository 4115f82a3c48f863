// @vitest-environment node
// Render test of a terminal session's transcript in jsdom (set up here, as in
// chat/ChatView.test.tsx): the chat view's renderer draws it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionInfo } from '../api/types';

const nodeMajor = Number(((globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ?? '0').split('.')[0]);

const session = {
  id: 't1',
  owner: 'alice',
  mode: 'terminal',
  state: 'exited',
  working_dir: '/p',
  title: 'x',
  permission_mode: 'default',
  usage: { cost_usd: 0, input_tokens: 0, output_tokens: 0 },
} as unknown as SessionInfo;

const edit = { file_path: '/p/a.ts', old_string: 'a - b', new_string: 'a + b' };
const events = [
  { kind: 'user_message', text: 'Fix **it**', images: [] },
  {
    kind: 'assistant_message',
    message_id: 'm1',
    content: [
      { type: 'text', text: 'Done, see **bold** and `code`:\n\n- one\n- two' },
      { type: 'tool_use', id: 'tu1', name: 'Edit', input: edit },
      { type: 'tool_use', id: 'tu2', name: 'Bash', input: { command: 'npm test' } },
    ],
  },
  { kind: 'tool_result', tool_use_id: 'tu1', content: 'ok', is_error: false },
  { kind: 'tool_result', tool_use_id: 'tu2', content: 'all passed', is_error: false },
].map((event, i) => ({ seq: i + 1, at: '2026-01-01T00:00:00Z', event }));

describe.skipIf(nodeMajor < 22)('TranscriptView in jsdom', () => {
  let teardown: (() => void) | undefined;

  beforeAll(async () => {
    const { builtinEnvironments } = await import('vitest/runtime');
    const env = await builtinEnvironments.jsdom.setup(globalThis, { jsdom: { url: 'https://example.com/' } });
    teardown = () => env.teardown(globalThis);
    (globalThis as Record<string, unknown>).IS_REACT_ACT_ENVIRONMENT = true;
  });
  afterAll(() => teardown?.());

  it('renders Markdown, tool cards and diffs with the chat renderer', async () => {
    const asked: string[] = [];
    globalThis.fetch = (async (url: string) => {
      asked.push(String(url));
      return new Response(JSON.stringify({ events, last_seq: events.length }), { headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const React = await import('react');
    const { createRoot } = await import('react-dom/client');
    const { TranscriptView } = await import('./TranscriptView');
    const container = document.createElement('div');
    document.body.appendChild(container);
    const root = createRoot(container);
    await React.act(async () => root.render(<TranscriptView session={session} />));
    for (let i = 0; i < 50 && !container.querySelector('[data-testid="tool-card"]'); i++) {
      await React.act(() => new Promise<void>((r) => setTimeout(r, 20)));
    }
    expect(asked[0]).toBe('https://example.com/api/claude/sessions/t1/events?after=0&limit=1000');
    const reply = container.querySelector('[data-testid="msg-assistant"] .md')!;
    expect(reply.querySelector('strong')?.textContent).toBe('bold');
    expect(reply.querySelectorAll('li')).toHaveLength(2);
    expect(container.textContent).not.toContain('**bold**');
    const cards = Array.from(container.querySelectorAll<HTMLElement>('[data-testid="tool-card"]'));
    expect(cards).toHaveLength(2);
    expect(cards.map((c) => c.dataset.status)).toEqual(['done', 'done']);
    expect(container.querySelectorAll('[data-testid="diff"] .diff-add')).toHaveLength(1);
    // Read-only: nothing to type into.
    expect(container.querySelector('[data-testid="composer-input"]')).toBeNull();
    await React.act(async () => root.unmount());
    container.remove();
  });
});
