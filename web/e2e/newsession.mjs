// The new-session dialog starts where its path field says: a path typed
// without Go or Enter is where the session runs (once the picker has listed
// it); a path that does not exist shows the server's error and keeps Start
// disabled. A permission mode the server refuses is not offered, here nor
// in a chat's mode switch. CCWEB_OTHER_DIR: a directory inside the project.
import { env, login, run, until } from './lib.mjs';

const other = process.env.CCWEB_OTHER_DIR;

await run('newsession', async (page) => {
  await login(page);
  await page.getByTestId('new-session-button').click();
  await page.getByTestId('new-session-mode-chat').check();
  const dir = page.getByTestId('new-session-dir');
  const submit = page.getByTestId('new-session-submit');
  await page.locator('[data-testid="dir-picker"][data-settled="true"]').waitFor();
  const shown = await dir.inputValue();
  if (!shown || shown === other) throw new Error(`the field starts at ${JSON.stringify(shown)}`);

  // ---- bypassPermissions is off on this server: offered disabled, with the reason
  const bypass = page.locator('[data-testid="new-session-permission-mode"] option[value="bypassPermissions"]');
  if (!(await bypass.isDisabled())) throw new Error('bypassPermissions is offered although the server refuses it');
  const auto = page.locator('[data-testid="new-session-permission-mode"] option[value="auto"]');
  if (!(await auto.isDisabled())) throw new Error('auto is offered although the server refuses it');
  const why = page.getByTestId('bypass-unavailable');
  await why.waitFor();
  if (!(await why.textContent()).includes('allow_bypass_permissions')) throw new Error(`the reason does not name the setting: ${await why.textContent()}`);

  // ---- a path that does not exist: the server's error, Start disabled
  const missing = `${env.project}/no-such-dir`;
  await dir.fill(missing);
  const error = page.getByTestId('dir-error');
  await error.waitFor();
  if (!(await error.textContent()).includes('no-such-dir')) throw new Error(`the error does not name the path: ${await error.textContent()}`);
  if (!(await submit.isDisabled())) throw new Error('Start is enabled for a path that does not exist');
  await page.locator('[data-testid="dir-picker"][data-listed="false"]').waitFor();

  // ---- a valid path typed without Go: the session runs there
  await dir.fill(other);
  await error.waitFor({ state: 'detached' });
  // Start waits for the listing of what the field says (click waits until enabled).
  await submit.click();
  await page.getByTestId('session-page').waitFor();
  const id = await until('the session in the URL', async () => /#\/sessions\/([^/?]+)/.exec(page.url())?.[1]);
  const session = await page.evaluate(async (id) => (await fetch(`api/claude/sessions/${id}`)).json(), id);
  if (session.working_dir !== other) throw new Error(`the session runs in ${session.working_dir}, not the typed ${other}`);

  // ---- the chat's mode switch does not offer bypassPermissions either
  const switcher = page.getByTestId('permission-mode');
  await until('the mode switch enabled', async () => !(await switcher.isDisabled()));
  if (!(await switcher.locator('option[value="bypassPermissions"]').isDisabled())) throw new Error('the chat offers bypassPermissions');
});
