// One terminal session on two screens, a desktop and a phone (in either
// order): the screen that comes second does not resize the terminal; it
// shows the first screen's size scaled to fit (or letterboxed), nothing cut
// off, with "Sized for another screen — Fit to mine". Pressing it gives the
// terminal its size, and the first screen then shows the control; typing
// there takes the size back.
import { env, login, newSession, run, until } from './lib.mjs';

const SCREENS = {
  desktop: { viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false },
  mobile: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

/** The terminal's size as the page draws it (`data-cols`×`data-rows`). */
async function drawnSize(p) {
  const t = p.getByTestId('terminal');
  const cols = await t.getAttribute('data-cols');
  const rows = await t.getAttribute('data-rows');
  return cols && rows ? `${cols}x${rows}` : null;
}

/** The PTY's size as the server reports it. */
async function ptySize(p, id) {
  const r = await p.request.get(new URL(`api/claude/sessions/${id}`, env.url).toString());
  const s = await r.json();
  return `${s.cols}x${s.rows}`;
}

/** Fails when the terminal's cells reach outside its box or its frame scrolls. */
async function assertNotClipped(p, who) {
  const box = await p.getByTestId('terminal').boundingBox();
  const cells = await p.locator('.xterm-screen').boundingBox();
  const inside =
    cells.x >= box.x - 1 &&
    cells.y >= box.y - 1 &&
    cells.x + cells.width <= box.x + box.width + 1 &&
    cells.y + cells.height <= box.y + box.height + 1;
  if (!inside) throw new Error(`${who}: the terminal is clipped: cells ${JSON.stringify(cells)} in ${JSON.stringify(box)}`);
  const scrolls = await p.locator('.terminal-frame').evaluate((f) => f.scrollWidth > f.clientWidth + 1);
  if (scrolls) throw new Error(`${who}: the terminal frame scrolls sideways`);
}

await run('two_screens', async (page, context) => {
  const dom = () => localStorage.setItem('ccweb.terminalRenderer', 'dom');
  await page.addInitScript(dom);
  await login(page);
  await newSession(page, 'terminal');
  const id = /#\/sessions\/([^/?]+)/.exec(page.url())[1];
  const screen = async (p) => (await p.locator('.xterm-rows').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
  await until('the welcome screen', async () => (await screen(page)).includes('Claude Code v2.1.197'));

  // The only screen owns the size: the PTY has its size, no control.
  let first = null;
  await until('the PTY at the first screen size', async () => {
    first = await drawnSize(page);
    return first !== null && first === (await ptySize(page, id));
  });
  if (await page.getByTestId('terminal-size-elsewhere').count()) throw new Error('the only screen is told it does not own the size');

  const otherKind = env.viewport === 'mobile' ? 'desktop' : 'mobile';
  const other = await context.browser().newContext({ ...SCREENS[otherKind], baseURL: env.url });
  other.setDefaultTimeout(20000);
  try {
    const second = await other.newPage();
    await second.addInitScript(dom);
    await login(second);
    await second.goto(page.url());
    await second.getByTestId('terminal-size-elsewhere').waitFor();
    await until('the welcome screen on the second screen', async () => (await screen(second)).includes('Claude Code v2.1.197'));
    await until('the second screen drawing the first screen size', async () => (await drawnSize(second)) === first).catch(async (e) => {
      await second.screenshot({ path: `${env.artifacts}/two_screens-second-${otherKind}.png` });
      throw new Error(`${e.message}: it draws ${await drawnSize(second)}, the first ${first}, the PTY ${await ptySize(page, id)}`);
    });
    if ((await ptySize(page, id)) !== first) throw new Error(`the second screen resized the PTY to ${await ptySize(page, id)}`);
    if ((await drawnSize(page)) !== first) throw new Error('the first screen was resized');
    await assertNotClipped(second, `the ${otherKind} screen`);
    if (await page.getByTestId('terminal-size-elsewhere').count()) throw new Error('the first screen lost the size');

    // "Fit to mine" on the second screen: the PTY takes its size, the first
    // screen is told and draws it scaled.
    await second.getByTestId('terminal-fit').click();
    await page.getByTestId('terminal-size-elsewhere').waitFor();
    await second.getByTestId('terminal-size-elsewhere').waitFor({ state: 'detached' });
    let mine = null;
    await until('the PTY at the second screen size', async () => {
      mine = await drawnSize(second);
      return mine !== first && mine === (await ptySize(page, id)) && mine === (await drawnSize(page));
    });
    await assertNotClipped(page, `the ${env.viewport} screen`);
    await assertNotClipped(second, `the ${otherKind} screen`);

    // Typing on the first screen takes the size back.
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('x');
    await page.getByTestId('terminal-size-elsewhere').waitFor({ state: 'detached' });
    await second.getByTestId('terminal-size-elsewhere').waitFor();
    await until('the PTY back at the first screen size', async () => (await ptySize(page, id)) === first && (await drawnSize(second)) === first);
    await assertNotClipped(second, `the ${otherKind} screen`);
  } finally {
    await other.close();
  }
});
