// Log in, start a terminal session, see the CLI's welcome screen, type a
// prompt, see the fake model's reply, reload and see the same screen.
import { env, expectControlsLaidOut, login, newSession, run, until } from './lib.mjs';

await run('terminal', async (page) => {
  // The DOM renderer keeps the screen readable as text (WebGL draws pixels).
  await page.addInitScript(() => localStorage.setItem('ccweb.terminalRenderer', 'dom'));
  await login(page);
  await newSession(page, 'terminal');
  const screen = async () => (await page.locator('.xterm-rows').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
  await until('the welcome screen', async () => {
    const s = await screen();
    return s.includes('Claude Code v2.1.197') && s.includes('? for shortcuts');
  });
  await page.getByTestId('connection-state').waitFor();
  // Every action of the header is whole and apart, phones included.
  await expectControlsLaidOut(page, '.session-toolbar');
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('Say hello to the browser');
  await until('the typed prompt', async () => (await screen()).includes('Say hello to the browser'));
  // Not a wait for something to happen: the TUI takes an Enter within ~50 ms
  // of typed text as part of a paste, so the gap must be at least that (a busy
  // machine only makes it longer).
  await page.waitForTimeout(200);
  await page.keyboard.press('Enter');
  // The turn is over once the reply shows and the empty input box is back.
  await until('the reply and the input box back', async () => {
    const s = await screen();
    return s.includes('Hello from the browser test.') && s.includes('? for shortcuts');
  });
  const lines = (s) => s.split('\n').map((l) => l.trimEnd()).filter((l) => l.includes('Hello from the browser test.') || l.includes('Say hello to the browser'));
  const before = await screen();
  await page.reload();
  // Compared until they match (the restored screen arrives in pieces), not
  // once after a fixed wait.
  let after = '';
  await until('the same screen after a reload', async () => {
    after = await screen();
    return JSON.stringify(lines(before)) === JSON.stringify(lines(after));
  }).catch(() => {
    throw new Error(`the screen changed across the reload:\nbefore:\n${before}\nafter:\n${after}`);
  });
  if (env.viewport === 'mobile') {
    const width = await page.getByTestId('terminal').evaluate((el) => el.getBoundingClientRect().width);
    if (width > 390) throw new Error(`the terminal is wider than the phone: ${width}`);
  }
});
