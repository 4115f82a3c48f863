// As an admin: store a Claude API key and see only its last characters
// (also after a reload), delete it; create an API token and see its secret once, revoke it;
// create a user, reset their password and disable them; read the audit log (the login and the
// token), filter it by action; then log out everywhere.
import { env, login, run, until } from './lib.mjs';

const suffix = env.viewport === 'mobile' ? 'm' : 'd';
const tokenName = `e2e token ${suffix}`;
const userName = `e2e-bob-${suffix}`;

await run('account', async (page) => {
  await login(page);

  await page.getByTestId('account-link').click();
  await page.getByTestId('account-page').waitFor();

  // ---- Claude credentials: write-only, shown by their last characters
  const key = `sk-ant-e2e-secret-${suffix}-k3y${suffix}7`;
  const hint = `Set, ends in …${key.slice(-4)}`;
  const keyRow = page.locator('[data-testid="credential-row"][data-kind="anthropic_api_key"]');
  await keyRow.getByTestId('credential-input').fill('sk-ant two-parts');
  await keyRow.getByTestId('credential-save').click();
  await keyRow.locator('.form-error').filter({ hasText: 'No spaces' }).waitFor();
  await keyRow.getByTestId('credential-input').fill(key);
  await keyRow.getByTestId('credential-save').click();
  await until('the key shown by its hint', async () => (await keyRow.getByTestId('credential-status').innerText()) === hint);
  await page.locator('.toast').filter({ hasText: 'Anthropic API key saved' }).waitFor();
  if ((await page.content()).includes(key)) throw new Error('the key is on the page after saving it');
  await page.reload();
  await page.getByTestId('account-page').waitFor();
  await until('the hint after a reload', async () => (await keyRow.getByTestId('credential-status').innerText()) === hint);
  if ((await page.content()).includes(key)) throw new Error('the key came back from the server');
  if (env.viewport === 'mobile') {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 390) throw new Error(`the credentials section is wider than the phone: ${width}`);
  }
  await keyRow.getByTestId('credential-delete').click();
  await page.getByTestId('confirm-button').click();
  await until('the key deleted', async () => (await keyRow.getAttribute('data-set')) === 'false');
  await keyRow.getByTestId('credential-status').filter({ hasText: 'Not set' }).waitFor();

  // ---- API tokens
  await page.getByTestId('token-new').click();
  await page.getByTestId('token-name').fill(tokenName);
  await page.getByTestId('token-scope-read').check();
  await page.getByTestId('token-create-submit').click();
  const secret = await page.getByTestId('token-secret').inputValue();
  if (!/^ccweb_/.test(secret)) throw new Error(`unexpected secret: ${secret}`);
  await page.getByText('you won’t see it again').waitFor();
  await page.getByTestId('token-created-done').click();
  await page.getByTestId('token-created-dialog').waitFor({ state: 'detached' });
  const row = page.locator(`[data-testid="token-row"][data-token-name="${tokenName}"]`);
  await row.waitFor();
  if ((await page.content()).includes(secret)) throw new Error('the secret is still on the page after the dialog closed');
  await row.getByTestId('token-revoke').click();
  await page.getByTestId('confirm-button').click();
  await until('the token revoked', async () => (await row.getAttribute('data-status')) === 'revoked');

  // ---- users
  await page.getByTestId('admin-link').click();
  await page.getByTestId('users-page').waitFor();
  await page.getByTestId('user-new').click();
  await page.getByTestId('user-name-input').fill(userName);
  await page.getByTestId('user-password-input').fill('bob-password-1');
  await page.getByTestId('user-create-submit').click();
  const bob = page.locator(`[data-testid="user-row"][data-user-name="${userName}"]`);
  await bob.waitFor();
  // Reset their password (the policy is checked before sending).
  await bob.getByTestId('user-password').click();
  await page.getByTestId('new-password-input').fill('short');
  await page.getByTestId('password-submit').click();
  await page.getByTestId('password-dialog').getByText('At least 8 characters.').waitFor();
  await page.getByTestId('new-password-input').fill('bob-password-2');
  await page.getByTestId('password-submit').click();
  await page.getByTestId('password-dialog').waitFor({ state: 'detached' });
  await page.locator('.toast').filter({ hasText: `Password of ${userName} reset` }).waitFor();
  await bob.getByTestId('user-disable').click();
  await page.getByTestId('confirm-button').click();
  await bob.getByTestId('user-disabled').waitFor();
  await bob.getByTestId('user-enable').waitFor();
  // The server refuses an admin demoting themselves; its message shows.
  const me = page.locator(`[data-testid="user-row"][data-user-name="${env.user}"]`);
  await me.getByTestId('user-toggle-admin').click();
  await page.locator('.toast-error').filter({ hasText: env.user }).waitFor();

  // ---- server: containment and how each session limit is enforced
  await page.getByTestId('nav-admin_server').click();
  await page.getByTestId('server-page').waitFor();
  await page.getByTestId('server-containment').waitFor();
  // The test server lets several users share one identity: the page says what that means.
  const isolation = page.getByTestId('server-isolation');
  await isolation.waitFor();
  if ((await isolation.getAttribute('data-shared')) !== 'true') throw new Error('the shared identity is not shown');
  const meaning = await page.getByTestId('server-isolation-detail').innerText();
  if (!meaning.includes('everyone’s agent can read and change everyone’s work')) throw new Error(`the shared identity is explained as: ${meaning}`);
  const limit = page.getByTestId('server-limit').first();
  await limit.waitFor();
  if (!(await limit.textContent()).includes('session_max_processes')) throw new Error(`unexpected limit line: ${await limit.textContent()}`);

  // ---- audit log
  await page.getByTestId('nav-admin_audit').click();
  await page.getByTestId('audit-table').waitFor();
  const actions = async () => page.locator('[data-testid="audit-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.action));
  await until('the login and the token in the audit log', async () => {
    const a = await actions();
    return a.includes('login') && a.includes('token.create') && a.includes('admin.user.create') && a.includes('admin.user.password');
  });
  await page.getByTestId('audit-action').fill('token.*');
  await page.getByTestId('audit-apply').click();
  await until('only token entries', async () => {
    const a = await actions();
    return a.length >= 2 && a.every((x) => x.startsWith('token.')) && a.includes('token.revoke');
  });
  const detail = await page.locator('[data-testid="audit-row"][data-action="token.create"]').first().innerText();
  if (!detail.includes(tokenName)) throw new Error(`the token.create entry does not name the token:\n${detail}`);
  await page.getByTestId('audit-outcome').selectOption('failure');
  await page.getByTestId('audit-apply').click();
  await page.getByTestId('audit-empty').waitFor();
  await page.getByTestId('audit-clear').click();
  await until('the unfiltered log again', async () => (await actions()).includes('login'));
  // A range of days, in the browser's time zone: today has everything,
  // from tomorrow on nothing, and a backwards range cannot be applied.
  const day = (offset) =>
    page.evaluate((n) => {
      const d = new Date();
      d.setDate(d.getDate() + n);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    }, offset);
  await page.getByTestId('audit-from').fill(await day(0));
  await page.getByTestId('audit-to').fill(await day(0));
  await page.getByTestId('audit-apply').click();
  await until("today's entries", async () => (await actions()).includes('login'));
  await page.getByTestId('audit-from').fill(await day(1));
  if (!(await page.getByTestId('audit-apply').isDisabled())) throw new Error('a backwards range of days can be applied');
  await page.getByTestId('audit-to').fill('');
  await page.getByTestId('audit-apply').click();
  await page.getByTestId('audit-empty').waitFor();
  await page.getByTestId('audit-clear').click();
  await until('the unfiltered log once more', async () => (await actions()).includes('login'));
  if (env.viewport === 'mobile') {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 390) throw new Error(`the audit page is wider than the phone: ${width}`);
  }

  // ---- log out everywhere
  await page.getByTestId('account-link').click();
  await page.getByTestId('logout-all').click();
  await page.getByTestId('confirm-button').click();
  await page.getByTestId('login-username').waitFor();
  await page.reload();
  await page.getByTestId('login-username').waitFor();
});
