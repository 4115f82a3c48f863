// @vitest-environment node
// Render tests of the chat view in jsdom. jsdom 31 needs Node ≥ 22, so the
// DOM is set up here (not by the file's environment) and the suite is
// skipped on older Node versions.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const nodeVersion = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ?? '0';
const nodeMajor = Number(nodeVersion.split('.')[0]);

type Sent = Record<string, unknown>;

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Sent[] = [];
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(obj: unknown) {
    this.onmessage?.({ data: JSON.stringify(obj) });
  }
}

let seq = 0;
const ev = (event: unknown) => ({ type: 'event', seq: ++seq, at: '2026-01-01T00:00:00Z', event });
const session = { id: 's1', mode: 'chat', state: 'running', title: 't', model: null, permission_mode: 'default' };

describe.skipIf(nodeMajor < 22)('ChatView in jsdom', () => {
  let teardown: (() => void) | undefined;
  let React: typeof import('react');
  let act: typeof import('react').act;
  let createRoot: typeof import('react-dom/client').createRoot;
  let ChatView: typeof import('./ChatView').ChatView;
  let container: HTMLElement;
  let root: import('react-dom/client').Root;

  beforeAll(async () => {
    const { builtinEnvironments } = await import('vitest/runtime');
    const env = await builtinEnvironments.jsdom.setup(globalThis, { jsdom: { url: 'https://example.com/sub/' } });
    teardown = () => env.teardown(globalThis);
    (globalThis as Record<string, unknown>).IS_REACT_ACT_ENVIRONMENT = true;
    (globalThis as Record<string, unknown>).WebSocket = FakeSocket;
    React = await import('react');
    act = React.act;
    ({ createRoot } = await import('react-dom/client'));
    ({ ChatView } = await import('./ChatView'));
  });
  afterAll(() => teardown?.());

  beforeEach(() => {
    FakeSocket.all = [];
    seq = 0;
    localStorage.clear();
  });

  const tick = (ms = 30) => act(() => new Promise<void>((r) => setTimeout(r, ms)));
  const $ = (sel: string) => container.querySelector(sel) as HTMLElement | null;
  const $$ = (sel: string) => Array.from(container.querySelectorAll(sel)) as HTMLElement[];

  async function mount() {
    container = document.createElement('div');
    container.style.height = '600px';
    document.body.appendChild(container);
    root = createRoot(container);
    await act(async () => root.render(<ChatView sessionId="s1" session={session} />));
    const ws = FakeSocket.all.at(-1)!;
    await act(async () => ws.open());
    await act(async () => ws.push({ type: 'connected', session, last_seq: 0 }));
    return ws;
  }
  async function unmount() {
    await act(async () => root.unmount());
    container.remove();
  }
  async function feed(ws: FakeSocket, events: unknown[]) {
    await act(async () => {
      for (const e of events) ws.push(ev(e));
    });
    await tick();
  }
  function typeInto(el: HTMLTextAreaElement | HTMLInputElement, value: string) {
    const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }
  const key = (el: Element, k: string, extra: KeyboardEventInit = {}) =>
    el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...extra }));

  it('connects under the sub-path and renders a sanitised transcript', async () => {
    const ws = await mount();
    expect(ws.url).toBe('wss://example.com/sub/api/claude/sessions/s1/chat?after_seq=0');
    await feed(ws, [
      { kind: 'state', state: 'idle', needs_attention: false },
      { kind: 'user_message', text: 'hi <b>there</b>', images: [] },
      {
        kind: 'assistant_message',
        message_id: 'm1',
        content: [{ type: 'text', text: 'See [docs](https://e.com) <img src=x onerror=alert(1)><script>alert(2)</script>\n\n```ts\nconst a = 1;\n```' }],
      },
      { kind: 'result', subtype: 'success', is_error: false, cost_usd: 0.0123, input_tokens: 1000, output_tokens: 50, duration_ms: 1200 },
    ]);
    expect($('[data-testid="chat-connection"]')?.dataset.state).toBe('open');
    expect($('[data-testid="msg-user"]')?.textContent).toContain('hi <b>there</b>');
    const md = $('[data-testid="msg-assistant"] .md')!;
    expect(md.querySelector('script')).toBeNull();
    // No image at all: model output loads nothing by itself (markdown.ts).
    expect(md.querySelector('img')).toBeNull();
    const a = md.querySelector('a')!;
    expect([a.getAttribute('target'), a.getAttribute('rel')]).toEqual(['_blank', 'noopener noreferrer']);
    expect(md.querySelector('code.hljs .hljs-keyword')?.textContent).toBe('const');
    expect($('[data-testid="turn-cost"]')?.textContent).toContain('$0.012');
    expect($('[data-testid="session-cost"]')?.textContent).toContain('$0.012');
    await unmount();
  });

  it('streams, then replaces the stream with the complete message', async () => {
    const ws = await mount();
    await feed(ws, [
      { kind: 'state', state: 'running', needs_attention: false },
      { kind: 'assistant_delta', message_id: 'old', index: 0, delta_type: 'text', text: 'aborted words' },
      { kind: 'assistant_delta', message_id: 'm1', index: 0, delta_type: 'text', text: 'Hello ' },
      { kind: 'assistant_delta', message_id: 'm1', index: 0, delta_type: 'text', text: 'wor' },
    ]);
    const bubbles = $$('[data-testid="msg-assistant"]');
    expect(bubbles).toHaveLength(1);
    expect(bubbles[0].dataset.streaming).toBe('true');
    expect(bubbles[0].textContent).toContain('Hello wor');
    expect($('[data-testid="interrupt"]')).not.toBeNull();
    await feed(ws, [{ kind: 'assistant_message', message_id: 'm1', content: [{ type: 'text', text: 'Hello world' }] }]);
    const done = $$('[data-testid="msg-assistant"]');
    expect(done).toHaveLength(1);
    expect(done[0].dataset.streaming).toBeUndefined();
    expect(done[0].textContent?.trim()).toBe('Hello world');
    expect(container.textContent).not.toContain('aborted');
    await unmount();
  });

  it('an interrupt shows "Interrupting…" until the turn ends, then a neutral "Interrupted"', async () => {
    const ws = await mount();
    await feed(ws, [
      { kind: 'state', state: 'running', needs_attention: false },
      { kind: 'assistant_delta', message_id: 'm1', index: 0, delta_type: 'text', text: 'slow1 ' },
    ]);
    await act(async () => $('[data-testid="interrupt"]')!.click());
    expect(ws.sent.at(-1)).toEqual({ type: 'interrupt' });
    expect($('[data-testid="chat-interrupting"]')?.textContent).toBe('Interrupting…');
    await feed(ws, [
      { kind: 'assistant_message', message_id: 'm1', content: [{ type: 'text', text: 'slow1 ' }] },
      { kind: 'system', subtype: 'notice', data: { text: '[Request interrupted by user]' } },
      {
        kind: 'result',
        subtype: 'error_during_execution',
        is_error: true,
        terminal_reason: 'aborted_streaming',
        errors: ['[ede_diagnostic] result_type=user last_content_type=text stop_reason=null'],
        cost_usd: 0,
        input_tokens: 0,
        output_tokens: 0,
      },
    ]);
    expect($('[data-testid="chat-interrupting"]')).toBeNull();
    expect($('[data-testid="turn-interrupted"]')?.textContent).toBe('Interrupted');
    expect($('.turn-error')).toBeNull();
    expect(container.textContent).not.toContain('ede_diagnostic');
    expect(container.textContent).not.toContain('Turn stopped');
    await unmount();
  });

  it('suggests Esc only where there is a keyboard, and labels Stop', async () => {
    const placeholder = async () => {
      const ws = await mount();
      await feed(ws, [{ kind: 'state', state: 'running', needs_attention: false }]);
      const text = [
        $('[data-testid="composer-input"]')!.getAttribute('placeholder'),
        $('[data-testid="interrupt"]')!.getAttribute('title'),
        $('[data-testid="interrupt"]')!.getAttribute('aria-keyshortcuts') ?? '',
      ].join(' ');
      expect($('[data-testid="interrupt"]')!.textContent).toBe('Stop');
      await unmount();
      return text;
    };
    expect(await placeholder()).toContain('Esc');
    const touch = (q: string) => ({ matches: q === '(pointer: coarse)' }) as MediaQueryList;
    window.matchMedia = touch;
    try {
      expect(await placeholder()).not.toMatch(/Esc/);
    } finally {
      delete (window as { matchMedia?: unknown }).matchMedia;
    }
  });

  it('shows a permission prompt, answers it and shows the outcome', async () => {
    const ws = await mount();
    const input = { file_path: '/p/a.ts', old_string: 'a - b', new_string: 'a + b' };
    await feed(ws, [
      { kind: 'state', state: 'running', needs_attention: false },
      { kind: 'assistant_message', message_id: 'm1', content: [{ type: 'tool_use', id: 't1', name: 'Edit', input }] },
      {
        kind: 'permission_request',
        request_id: 'r1',
        tool_name: 'Edit',
        input,
        suggestions: [{ type: 'setMode', mode: 'acceptEdits', destination: 'session' }],
        tool_use_id: 't1',
        prompt_kind: 'tool',
      },
      { kind: 'state', state: 'requires_action', needs_attention: true },
    ]);
    const dialog = $('[data-testid="permission-dialog"]')!;
    expect(dialog.getAttribute('role')).toBe('dialog');
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)?.textContent).toBe('Allow Edit?');
    expect(dialog.querySelectorAll('.diff-add')).toHaveLength(1);
    // The input does not say where in the file the edit is: no made-up line numbers.
    expect(dialog.querySelector('[data-testid="diff"]')?.getAttribute('data-numbered')).toBe('false');
    expect(dialog.querySelectorAll('.diff-no')).toHaveLength(0);
    // Focus moves into the dialog on the next tick.
    await act(async () => new Promise((r) => setTimeout(r, 10)));
    expect(document.activeElement?.getAttribute('data-testid')).toBe('perm-allow');
    expect($('[data-testid="tool-card"]')?.dataset.status).toBe('waiting');
    await act(async () => $('[data-testid="perm-always"]')!.click());
    expect(ws.sent.at(-1)).toEqual({ type: 'permission_response', request_id: 'r1', behavior: 'allow', remember: true });
    expect(($('[data-testid="perm-allow"]') as HTMLButtonElement).disabled).toBe(true);
    await feed(ws, [
      { kind: 'permission_resolved', request_id: 'r1', resolution: 'allow', by: 'alice', remember: true },
      { kind: 'tool_result', tool_use_id: 't1', content: 'ok', is_error: false },
    ]);
    expect($('[data-testid="permission-dialog"]')).toBeNull();
    expect($('[data-testid="permission-outcome"]')?.textContent).toContain('always allowed by alice');
    expect($('[data-testid="tool-card"]')?.dataset.status).toBe('done');
    await unmount();
  });

  it("numbers an edit's diff with the file's lines when the request says where it lands", async () => {
    const ws = await mount();
    await feed(ws, [
      {
        kind: 'permission_request',
        request_id: 'r2',
        tool_name: 'Edit',
        input: { file_path: '/p/a.ts', old_string: 'x = 1\ny = 2', new_string: 'x = 1\ny = 3' },
        prompt_kind: 'tool',
        edit_lines: [41],
      },
    ]);
    const diff = $('[data-testid="permission-dialog"] [data-testid="diff"]')!;
    expect(diff.getAttribute('data-numbered')).toBe('true');
    const rows = Array.from(diff.querySelectorAll('.diff-row')).map((r) =>
      Array.from(r.querySelectorAll('.diff-no')).map((n) => n.textContent).join('/'),
    );
    expect(rows).toEqual(['41/41', '42/', '/42']);
    await unmount();
  });

  it('denies with a reason from the keyboard', async () => {
    const ws = await mount();
    await feed(ws, [
      { kind: 'permission_request', request_id: 'r9', tool_name: 'Bash', input: { command: 'rm -rf /' }, prompt_kind: 'tool' },
    ]);
    expect($('[data-testid="perm-always"]')).toBeNull();
    const reason = $('[data-testid="perm-deny-reason"]') as HTMLInputElement;
    await act(async () => typeInto(reason, 'no way'));
    await act(async () => key(reason, 'Enter'));
    expect(ws.sent.at(-1)).toEqual({ type: 'permission_response', request_id: 'r9', behavior: 'deny', message: 'no way' });
    await unmount();
  });

  it('sends with Enter, keeps Shift+Enter, shows refusals', async () => {
    const ws = await mount();
    await feed(ws, [{ kind: 'state', state: 'idle', needs_attention: false }]);
    const ta = $('[data-testid="composer-input"]') as HTMLTextAreaElement;
    await act(async () => typeInto(ta, 'hello'));
    await act(async () => key(ta, 'Enter', { shiftKey: true }));
    expect(ws.sent.filter((m) => m.type === 'user_message')).toHaveLength(0);
    await act(async () => key(ta, 'Enter'));
    expect(ws.sent.at(-1)).toEqual({ type: 'user_message', text: 'hello' });
    expect(ta.value).toBe('');
    await act(async () => ws.push({ type: 'error', code: 'invalid_message', message: 'nope' }));
    await tick();
    expect($('[data-testid="chat-toast"]')?.getAttribute('role')).toBe('alert');
    expect($('[data-testid="chat-toast"]')?.textContent).toContain('nope');
    expect(ta.value).toBe('hello');
    await unmount();
  });

  it('opens the slash palette from the session commands', async () => {
    const ws = await mount();
    await feed(ws, [
      {
        kind: 'system',
        subtype: 'initialize',
        slash_commands: ['compact', 'cost'],
        data: { commands: [{ name: 'compact', description: 'Summarise' }, { name: 'cost', description: 'Show cost' }] },
      },
      { kind: 'state', state: 'idle', needs_attention: false },
    ]);
    const ta = $('[data-testid="composer-input"]') as HTMLTextAreaElement;
    await act(async () => typeInto(ta, '/c'));
    expect($$('[data-testid="slash-palette"] [role="option"]').map((o) => o.querySelector('.slash-name')?.textContent)).toEqual([
      '/compact',
      '/cost',
    ]);
    await act(async () => key(ta, 'ArrowDown'));
    await act(async () => key(ta, 'Enter'));
    expect(ta.value).toBe('/cost ');
    expect($('[data-testid="slash-palette"]')).toBeNull();
    await unmount();
  });
});
