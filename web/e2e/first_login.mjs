// The first admin's first day: the login page says where the one-time link
// is; the link logs them in and the app asks for a password; they set one,
// pick a theme (kept on the server: a fresh browser gets it), sign out, and
// sign in with the password. The used link then shows a page saying what to
// do next; a wrong current password is refused on the account page.
//
// Extra environment: CCWEB_LOGIN_URL (the unused one-time link).
import { env, run, until } from './lib.mjs';

const loginUrl = process.env.CCWEB_LOGIN_URL;
if (!loginUrl) throw new Error('CCWEB_LOGIN_URL is not set');

/** The resolved theme on <html> and the page's background colour. */
const look = (page) =>
  page.evaluate(() => ({ theme: document.documentElement.dataset.theme, bg: getComputedStyle(document.body).backgroundColor }));

await run('first_login', async (page, context) => {
  // ---- signed out: where is the link?
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('./');
  const hint = page.getByTestId('login-first-time');
  await hint.waitFor();
  const text = await hint.innerText();
  if (!text.includes('ccweb serve') || !text.includes('ccweb token create --user NAME')) throw new Error(`the first-time hint says: ${text}`);

  // ---- the link logs in, and the app asks for a password
  await page.goto(loginUrl);
  const prompt = page.getByTestId('set-password-prompt');
  await prompt.waitFor();
  // The form checks before sending: a short one, then two that differ.
  await prompt.getByTestId('own-new-password-input').fill('short');
  await prompt.getByTestId('own-confirm-password-input').fill('short');
  await prompt.getByTestId('own-password-submit').click();
  await prompt.locator('.form-error').filter({ hasText: 'at least 8 characters' }).waitFor();
  await prompt.getByTestId('own-new-password-input').fill(env.password);
  await prompt.getByTestId('own-confirm-password-input').fill(env.password);
  await prompt.getByTestId('own-password-submit').click();
  await prompt.waitFor({ state: 'detached' });
  await page.locator('.toast').filter({ hasText: 'Password set' }).waitFor();
  await page.getByTestId('new-session-button').waitFor();

  // ---- the account page: a password now; the theme
  await page.getByTestId('account-link').click();
  await page.getByTestId('account-page').waitFor();
  await until('the password shown as set', async () => (await page.getByTestId('password-status').innerText()).includes('Changing it signs out'));
  const light = await look(page);
  if (light.theme !== 'light') throw new Error(`a light system shows ${light.theme}`);
  await page.getByTestId('theme-dark').click();
  await until('the dark theme', async () => (await look(page)).theme === 'dark');
  const dark = await look(page);
  if (dark.bg === light.bg) throw new Error(`the background stayed ${dark.bg}`);
  // Saved on the server for the user, not only in this browser.
  await until('the theme saved on the server', () =>
    page.evaluate(async () => (await (await fetch('api/me/preferences')).json()).theme === 'dark'),
  );
  // A reload starts dark before the app runs (no flash of the light theme).
  await page.reload();
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== 'dark') throw new Error('the reload started light');
  await page.getByTestId('account-page').waitFor();
  // The choice overrides the system: light on a dark system, then "system" follows it.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByTestId('theme-light').click();
  await until('light on a dark system', async () => (await look(page)).theme === 'light');
  await page.getByTestId('theme-system').click();
  await until('the system theme (dark)', async () => (await look(page)).theme === 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await until('the system theme following the system (light)', async () => (await look(page)).theme === 'light');
  await page.getByTestId('theme-dark').click();
  await until('dark again', async () => (await look(page)).theme === 'dark');

  // ---- a wrong current password is refused; nothing changes
  await page.getByTestId('current-password-input').fill('not-my-password');
  await page.getByTestId('own-new-password-input').fill('another-password-1');
  await page.getByTestId('own-confirm-password-input').fill('another-password-1');
  await page.getByTestId('own-password-submit').click();
  await page.getByTestId('password-error').filter({ hasText: 'The current password is wrong.' }).waitFor();

  // ---- sign out, sign in with the password: not locked out
  await page.getByTestId('logout').click();
  await page.getByTestId('login-username').fill(env.user);
  await page.getByTestId('login-password').fill(env.password);
  await page.getByTestId('login-submit').click();
  // Back where they were (the account page), signed in.
  await page.getByTestId('account-page').waitFor();
  if (await page.getByTestId('set-password-prompt').count()) throw new Error('asked for a password again');

  // ---- another device (a fresh browser context) gets the theme from the server
  const other = await context.browser().newContext({ baseURL: env.url, viewport: page.viewportSize() });
  const otherPage = await other.newPage();
  await otherPage.emulateMedia({ colorScheme: 'light' });
  await otherPage.goto('./');
  await otherPage.getByTestId('login-username').fill(env.user);
  await otherPage.getByTestId('login-password').fill(env.password);
  await otherPage.getByTestId('login-submit').click();
  await otherPage.getByTestId('new-session-button').waitFor();
  await until('the saved theme on the other device', async () => (await look(otherPage)).theme === 'dark');
  await other.close();

  // ---- the used link says what to do next, and leads to the login page
  const used = await page.goto(loginUrl);
  if (used.status() !== 403) throw new Error(`the used link answered ${used.status()}`);
  await page.getByTestId('link-used').waitFor();
  const body = await page.locator('body').innerText();
  if (!body.includes('log in with your password') || !body.includes('ccweb token create --user NAME')) throw new Error(`the used-link page says: ${body}`);
  if (env.viewport === 'mobile') {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 390) throw new Error(`the used-link page is wider than the phone: ${width}`);
  }
  await page.getByTestId('to-login').click();
  await page.getByTestId('new-session-button').waitFor();
});
