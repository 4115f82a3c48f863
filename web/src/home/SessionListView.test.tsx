// @vitest-environment node
// Render tests of the session list (rows, order, grouping, search) in jsdom,
// set up here as in DirPicker.test.tsx (jsdom 31 needs Node ≥ 22). The
// server's search answers are given by hand.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SessionInfo } from '../api/types';
import { byLastActivity, groupByProject } from './sessionList';

const nodeVersion = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ?? '0';
const nodeMajor = Number(nodeVersion.split('.')[0]);

function session(over: Partial<SessionInfo>): SessionInfo {
  return {
    id: 's',
    owner: 'alice',
    mode: 'chat',
    state: 'running',
    working_dir: '/src/app',
    title: 'app',
    created_at: '2026-01-01T00:00:00Z',
    last_activity_at: '2026-01-01T00:00:00Z',
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
    project: '/src/app',
    ...over,
  };
}

const SESSIONS: SessionInfo[] = [
  session({ id: 'old', title: 'Write the docs', activity: 'ended', state: 'exited', exit_code: 0, last_activity_at: '2026-01-01T08:00:00Z', project: '/src/web', working_dir: '/src/web' }),
  session({
    id: 'new',
    title: 'Fix the login bug',
    first_prompt: 'Fix the login bug',
    activity: 'working',
    preview: { role: 'assistant', text: 'Looking at auth.rs now.' },
    last_activity_at: '2026-01-01T12:00:00Z',
    working_dir: '/src/app/crates/auth',
  }),
  session({ id: 'mid', title: 'Add a test', activity: 'needs_answer', needs_attention: true, last_activity_at: '2026-01-01T10:00:00Z' }),
];

describe('session list logic', () => {
  it('orders by last activity, newest first', () => {
    expect(byLastActivity(SESSIONS).map((s) => s.id)).toEqual(['new', 'mid', 'old']);
  });
  it('groups by project, the group active last first', () => {
    const groups = groupByProject(SESSIONS);
    expect(groups.map((g) => [g.name, g.sessions.map((s) => s.id)])).toEqual([
      ['app', ['new', 'mid']],
      ['web', ['old']],
    ]);
  });
});

describe.skipIf(nodeMajor < 22)('SessionListView in jsdom', () => {
  let teardown: (() => void) | undefined;
  let React: typeof import('react');
  let act: typeof import('react').act;
  let createRoot: typeof import('react-dom/client').createRoot;
  let SessionListView: typeof import('./SessionListView').SessionListView;
  let SessionRow: typeof import('./SessionRow').SessionRow;
  let container: HTMLElement;
  let root: import('react-dom/client').Root;
  let asked: { url: URL; answer: (body: unknown) => void }[];

  beforeAll(async () => {
    const { builtinEnvironments } = await import('vitest/runtime');
    const env = await builtinEnvironments.jsdom.setup(globalThis, { jsdom: { url: 'https://example.com/' } });
    teardown = () => env.teardown(globalThis);
    (globalThis as Record<string, unknown>).IS_REACT_ACT_ENVIRONMENT = true;
    globalThis.fetch = ((url: string) =>
      new Promise<Response>((resolve) => {
        asked.push({
          url: new URL(url, 'https://example.com/'),
          answer: (body) => resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })),
        });
      })) as typeof fetch;
    React = await import('react');
    act = React.act;
    ({ createRoot } = await import('react-dom/client'));
    ({ SessionListView } = await import('./SessionListView'));
    ({ SessionRow } = await import('./SessionRow'));
  });
  afterAll(() => teardown?.());
  beforeEach(() => {
    asked = [];
    localStorage.clear();
  });

  async function mount(all = false) {
    container = document.createElement('div');
    document.body.appendChild(container);
    root = createRoot(container);
    const now = Date.parse('2026-01-01T12:00:30Z');
    await act(async () =>
      root.render(
        <SessionListView
          sessions={SESSIONS}
          all={all}
          renderRow={(s) => <SessionRow key={s.id} session={s} now={now} busy={false} showOwner={all} watch={all} />}
        />,
      ),
    );
  }
  async function unmount() {
    await act(async () => root.unmount());
    container.remove();
  }
  const rows = () => [...container.querySelectorAll<HTMLElement>('[data-testid="session-row"]')];
  const titles = () => rows().map((r) => r.querySelector('[data-testid="session-open"]')!.textContent);
  async function type(value: string) {
    await act(async () => {
      const el = container.querySelector('[data-testid="session-filter"]') as HTMLInputElement;
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(el, value);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
  }
  async function waitForRequest() {
    for (let i = 0; i < 50 && asked.length === 0; i++) {
      await act(async () => new Promise((r) => setTimeout(r, 20)));
    }
    expect(asked).toHaveLength(1);
    return asked.shift()!;
  }

  it('shows each row by title with what it does and its last message, most recently active first', async () => {
    await mount();
    expect(titles()).toEqual(['Fix the login bug', 'Add a test', 'Write the docs']);
    const [working, answer, ended] = rows();
    expect(working.querySelector('[data-testid="session-activity"]')!.textContent).toBe('Working');
    expect(working.querySelector('[data-testid="session-preview"]')!.textContent).toBe('Claude: Looking at auth.rs now.');
    expect(working.querySelector('[data-testid="session-time"]')!.textContent).toBe('just now');
    expect(answer.querySelector('[data-testid="session-activity"]')!.textContent).toBe('Needs your answer');
    expect(answer.classList.contains('attention')).toBe(true);
    expect(ended.querySelector('[data-testid="session-activity"]')).toBeNull();
    expect(ended.querySelector('[data-testid="session-state"]')!.textContent).toBe('Exited');
    expect(container.querySelector('[data-testid="session-owner"]')).toBeNull();
    await unmount();
  });

  it('groups by project on request and remembers it', async () => {
    await mount();
    expect(container.querySelector('[data-testid="session-groups"]')).toBeNull();
    await act(async () => (container.querySelector('[data-testid="session-group-toggle"]') as HTMLButtonElement).click());
    const groups = [...container.querySelectorAll<HTMLElement>('[data-testid="session-group"]')];
    expect(groups.map((g) => g.dataset.project)).toEqual(['/src/app', '/src/web']);
    expect(titles()).toEqual(['Fix the login bug', 'Add a test', 'Write the docs']);
    await unmount();
    await mount();
    expect(container.querySelectorAll('[data-testid="session-group"]')).toHaveLength(2);
    expect(container.querySelector('[data-testid="session-group-toggle"]')!.getAttribute('aria-pressed')).toBe('true');
    await unmount();
  });

  it('filters what rows show at once and finds conversation words through the server', async () => {
    await mount(true);
    await type('login');
    expect(titles()).toEqual(['Fix the login bug']);
    await type('pelican');
    expect(titles()).toEqual([]);
    const req = await waitForRequest();
    expect(req.url.pathname).toBe('/api/claude/sessions');
    expect(Object.fromEntries(req.url.searchParams)).toEqual({ all: 'true', q: 'pelican' });
    await act(async () => {
      req.answer({ sessions: [SESSIONS[0]] });
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(titles()).toEqual(['Write the docs']);
    expect(rows()[0].querySelector('[data-testid="session-owner"]')!.textContent).toBe('alice');
    expect(rows()[0].querySelector('[data-testid="session-watch"]')!.getAttribute('href')).toBe('#/sessions/old?readonly=1');
    await unmount();
  });
});
