// @vitest-environment node
// Render tests of the directory picker in jsdom (set up here, as in
// ChatView.test.tsx: jsdom 31 needs Node ≥ 22). The server's listings are
// answered by hand, so a test decides when each one arrives.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const nodeVersion = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ?? '0';
const nodeMajor = Number(nodeVersion.split('.')[0]);

/** A listing request the test has not answered yet. */
interface Pending {
  /** The `path` query ('' for the default directory). */
  path: string;
  answer: (status: number, body: unknown) => void;
}

describe.skipIf(nodeMajor < 22)('DirPicker in jsdom', () => {
  let teardown: (() => void) | undefined;
  let React: typeof import('react');
  let act: typeof import('react').act;
  let createRoot: typeof import('react-dom/client').createRoot;
  let DirPicker: typeof import('./DirPicker').DirPicker;
  let container: HTMLElement;
  let root: import('react-dom/client').Root;
  let pending: Pending[];
  let chosen: string[];

  beforeAll(async () => {
    const { builtinEnvironments } = await import('vitest/runtime');
    const env = await builtinEnvironments.jsdom.setup(globalThis, { jsdom: { url: 'https://example.com/' } });
    teardown = () => env.teardown(globalThis);
    (globalThis as Record<string, unknown>).IS_REACT_ACT_ENVIRONMENT = true;
    globalThis.fetch = ((url: string) =>
      new Promise<Response>((resolve) => {
        const path = new URL(url).searchParams.get('path') ?? '';
        pending.push({
          path,
          answer: (status, body) =>
            resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })),
        });
      })) as typeof fetch;
    React = await import('react');
    act = React.act;
    ({ createRoot } = await import('react-dom/client'));
    ({ DirPicker } = await import('./DirPicker'));
  });
  afterAll(() => teardown?.());

  beforeEach(() => {
    pending = [];
    chosen = [];
  });

  const listing = (path: string) => ({ path, parent: null, roots: [path], dirs: [{ name: 'src', path: `${path}/src` }] });
  const field = () => container.querySelector('[data-testid="new-session-dir"]') as HTMLInputElement;
  const settled = () => (container.querySelector('[data-testid="dir-picker"]') as HTMLElement).dataset.settled;

  async function mount(value: string) {
    container = document.createElement('div');
    document.body.appendChild(container);
    root = createRoot(container);
    await act(async () => root.render(<DirPicker value={value} onChange={(p) => chosen.push(p)} />));
  }
  async function unmount() {
    await act(async () => root.unmount());
    container.remove();
  }
  /** Answers the oldest unanswered request, which must be for `path`. */
  async function answer(path: string, status: number, body: unknown) {
    const p = pending.shift();
    expect(p?.path).toBe(path);
    await act(async () => {
      p!.answer(status, body);
      await new Promise((r) => setTimeout(r, 10));
    });
  }
  async function type(value: string) {
    await act(async () => {
      const el = field();
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(el, value);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
  }

  it('shows the default directory once it is listed, and chooses it', async () => {
    await mount('');
    expect(settled()).toBe('false');
    await answer('', 200, listing('/root'));
    expect(field().value).toBe('/root');
    expect(settled()).toBe('true');
    expect(chosen).toEqual(['/root']);
    expect(container.querySelectorAll('[data-testid="dir-entry"]')).toHaveLength(1);
    await unmount();
  });

  it('keeps a path typed before the first listing arrives', async () => {
    await mount('');
    await type('/typed/project');
    await answer('', 200, listing('/root'));
    expect(field().value).toBe('/typed/project');
    expect(chosen).toEqual([]);
    await unmount();
  });

  it('falls back to the default when the remembered directory is gone', async () => {
    await mount('/gone');
    await answer('/gone', 400, { error: { code: 'invalid_working_dir', message: 'not a directory' } });
    await answer('', 200, listing('/root'));
    expect(field().value).toBe('/root');
    expect(chosen).toEqual(['/root']);
    expect(container.querySelector('[role="alert"]')).toBeNull();
    await unmount();
  });

  it('keeps a path typed while the remembered directory fails and the default is listed', async () => {
    await mount('/gone');
    await type('/typed/project');
    await answer('/gone', 400, { error: { code: 'invalid_working_dir', message: 'not a directory' } });
    await answer('', 200, listing('/root'));
    expect(field().value).toBe('/typed/project');
    expect(chosen).toEqual([]);
    await unmount();
  });
});
