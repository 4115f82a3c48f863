// The owner shares a terminal session read-only; another user opens the
// link and watches the screen without a keyboard; after the owner revokes
// it, the link no longer opens.
import { env, login, newSession, run, until } from './lib.mjs';

await run('share', async (page, context) => {
  await page.addInitScript(() => localStorage.setItem('ccweb.terminalRenderer', 'dom'));
  await login(page);
  await newSession(page, 'terminal');
  const screen = async (p) => (await p.locator('.xterm-rows').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
  await until('the welcome screen', async () => (await screen(page)).includes('Claude Code v2.1.197'));

  await page.getByTestId('session-share').click();
  await page.getByTestId('share-create').click();
  const url = await page.getByTestId('share-url').inputValue();
  if (!url.startsWith(env.url) || !url.includes('#/share/')) throw new Error(`unexpected share URL: ${url}`);
  await page.locator('[data-testid="share-row"][data-status="active"]').first().waitFor();

  // The viewer: another user in a browser of their own.
  const other = await context.browser().newContext({ viewport: page.viewportSize(), baseURL: env.url });
  try {
    const viewer = await other.newPage();
    await viewer.addInitScript(() => localStorage.setItem('ccweb.terminalRenderer', 'dom'));
    await viewer.goto(url);
    await viewer.getByTestId('login-username').fill(process.env.CCWEB_VIEWER);
    await viewer.getByTestId('login-password').fill(env.password);
    await viewer.getByTestId('login-submit').click();
    await viewer.getByTestId('shared-session-page').waitFor();
    await viewer.getByTestId('shared-badge').waitFor();
    await until('the shared screen', async () => (await screen(viewer)).includes('Claude Code v2.1.197'));
    await viewer.getByTestId('terminal-readonly').waitFor();
    if (await viewer.getByTestId('session-stop').count()) throw new Error('the viewer sees owner actions');

    // Revoke: the link stops working.
    await page.getByTestId('share-revoke').first().click();
    await page.getByTestId('confirm-button').click();
    await page.locator('[data-testid="share-row"][data-status="revoked"]').first().waitFor();
    await viewer.reload();
    await viewer.getByTestId('share-not-found').waitFor();
  } finally {
    await other.close();
  }
});
