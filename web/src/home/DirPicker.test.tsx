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
  let chosen: import('./DirPicker').DirChoice[];

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

  /** Mounts the picker; `listDelayMs` long: typing alone never asks for a listing. */
  async function mount(value: string, listDelayMs = 1) {
    container = document.createElement('div');
    document.body.appendChild(container);
    root = createRoot(container);
    await act(async () => root.render(<DirPicker value={value} onChange={(c) => chosen.push(c)} listDelayMs={listDelayMs} />));
  }
  async function unmount() {
    await act(async () => root.unmount());
    container.remove();
  }
  /** The choice the picker reported last. */
  const choice = () => chosen[chosen.length - 1];
  const entries = () => [...container.querySelectorAll('[data-testid="dir-entry"]')].map((e) => e.textContent);
  const alertText = () => container.querySelector('[role="alert"]')?.textContent ?? null;
  /** Waits until the picker has asked for a listing (typing asks after a pause). */
  async function requested() {
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      await act(async () => {
        await new Promise((r) => setTimeout(r, 5));
      });
    }
  }
  /** Answers the oldest unanswered request, which must be for `path`. */
  async function answer(path: string, status: number, body: unknown) {
    await requested();
    const p = pending.shift();
    expect(p?.path).toBe(path);
    await act(async () => {
      p!.answer(status, body);
      await new Promise((r) => setTimeout(r, 10));
    });
  }
  async function press(key: string) {
    await act(async () => {
      field().dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
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
    expect(choice()).toEqual({ path: '/root', listed: '/root' });
    expect(container.querySelectorAll('[data-testid="dir-entry"]')).toHaveLength(1);
    await unmount();
  });

  it('keeps a path typed before the first listing arrives, and lists it', async () => {
    await mount('');
    await type('/typed/project');
    await answer('', 200, listing('/root'));
    expect(field().value).toBe('/typed/project');
    expect(chosen.map((c) => c.listed)).not.toContain('/root');
    expect(choice()).toEqual({ path: '/typed/project', listed: null });
    await answer('/typed/project', 200, listing('/typed/project'));
    expect(choice()).toEqual({ path: '/typed/project', listed: '/typed/project' });
    await unmount();
  });

  it('falls back to the default when the remembered directory is gone', async () => {
    await mount('/gone');
    await answer('/gone', 400, { error: { code: 'invalid_working_dir', message: 'not a directory' } });
    await answer('', 200, listing('/root'));
    expect(field().value).toBe('/root');
    expect(choice()).toEqual({ path: '/root', listed: '/root' });
    expect(container.querySelector('[role="alert"]')).toBeNull();
    await unmount();
  });

  it('keeps a path typed while the remembered directory fails, without listing the default', async () => {
    await mount('/gone', 60_000);
    await type('/typed/project');
    await answer('/gone', 400, { error: { code: 'invalid_working_dir', message: 'not a directory' } });
    // What was typed is what counts now: no default listing, no error about /gone.
    expect(pending).toEqual([]);
    expect(field().value).toBe('/typed/project');
    expect(alertText()).toBeNull();
    expect(chosen.map((c) => c.listed)).not.toContain('/root');
    await unmount();
  });

  it('chooses the typed path, not the directory shown before, once it is listed', async () => {
    await mount('/remembered');
    await answer('/remembered', 200, listing('/remembered'));
    expect(choice()).toEqual({ path: '/remembered', listed: '/remembered' });
    await type('/other');
    // No Go, no Enter: the field is the choice, not yet usable until listed.
    expect(choice()).toEqual({ path: '/other', listed: null });
    expect(container.querySelector('[data-testid="dir-picker"]')!.getAttribute('data-listed')).toBe('false');
    await answer('/other', 200, listing('/other'));
    expect(choice()).toEqual({ path: '/other', listed: '/other' });
    expect(field().value).toBe('/other');
    expect(entries()).toEqual(['src']);
    expect(container.querySelector('[data-testid="dir-picker"]')!.getAttribute('data-listed')).toBe('true');
    await unmount();
  });

  it('a typed path the server refuses is no choice and shows the server’s error', async () => {
    await mount('');
    await answer('', 200, listing('/root'));
    await type('/root/no-such-dir');
    const message = 'working_dir "/root/no-such-dir" cannot be used: No such file or directory (os error 2)';
    await answer('/root/no-such-dir', 400, { error: { code: 'invalid_working_dir', message } });
    expect(choice()).toEqual({ path: '/root/no-such-dir', listed: null });
    expect(alertText()).toBe(message);
    expect(field().getAttribute('aria-invalid')).toBe('true');
    // The list does not show another directory's entries beside the bad path.
    expect(entries()).toEqual([]);
    await type('/etc');
    await answer('/etc', 403, { error: { code: 'path_not_allowed', message: 'outside' } });
    expect(alertText()).toBe('That directory is outside the allowed roots.');
    expect(choice()).toEqual({ path: '/etc', listed: null });
    // Back to a good path: the error goes and the path is the choice.
    await type('/root');
    await answer('/root', 200, listing('/root'));
    expect(alertText()).toBeNull();
    expect(choice()).toEqual({ path: '/root', listed: '/root' });
    await unmount();
  });

  it('ignores a listing for text the user has typed past', async () => {
    await mount('');
    await answer('', 200, listing('/root'));
    await type('/root/a');
    await requested();
    await type('/root/ab');
    await answer('/root/a', 200, listing('/root/a'));
    expect(choice()).toEqual({ path: '/root/ab', listed: null });
    await answer('/root/ab', 200, listing('/root/ab'));
    expect(choice()).toEqual({ path: '/root/ab', listed: '/root/ab' });
    await unmount();
  });

  it('Enter lists the typed path at once and shows its resolved path', async () => {
    await mount('', 60_000);
    await answer('', 200, listing('/root'));
    await type('project');
    await press('Enter');
    // Enter asks at once; the pending pause is dropped, so one request only.
    await answer('project', 200, listing('/root/project'));
    expect(field().value).toBe('/root/project');
    expect(choice()).toEqual({ path: '/root/project', listed: '/root/project' });
    expect(pending).toEqual([]);
    await unmount();
  });
});
