// The session list at a glance, as an admin: a chat named by its first
// prompt with its activity and last message, found by a word only its
// conversation holds, grouped by project; then All sessions: another
// user's session with its owner, filtered by user, watched read-only and
// ended; the Users page counts running sessions.
// CCWEB_OTHER_SESSION: a running chat session of user bob.
import { env, login, newSession, run, until } from './lib.mjs';

const other = process.env.CCWEB_OTHER_SESSION;

await run('sessionlist', async (page) => {
  await login(page);
  await newSession(page, 'chat');
  await page.getByTestId('chat-view').waitFor();
  const input = page.getByTestId('composer-input');
  const say = async (text) => {
    await input.fill(text);
    await page.getByTestId('composer-send').click();
  };
  const assistant = (text) => page.getByTestId('msg-assistant').filter({ hasText: text }).first().waitFor();
  const prompt = `Tell me about pelicans on ${env.viewport}`;
  await say(prompt);
  await assistant('quetzal river');
  await say('Thanks');
  await assistant('You are welcome.');

  // The list, while the slow reply streams: working; then, live, waiting
  // with the reply as its last message; named by the first prompt.
  await page.goto('./#/');
  const row = page.getByTestId('session-row').filter({ hasText: prompt });
  await row.getByTestId('session-activity').filter({ hasText: 'Working' }).waitFor();
  await row.getByTestId('session-activity').filter({ hasText: 'Waiting for your prompt' }).waitFor();
  const title = await row.getByTestId('session-open').innerText();
  if (title !== prompt) throw new Error(`the row is named ${JSON.stringify(title)}`);
  await row.getByTestId('session-preview').filter({ hasText: 'Claude: You are welcome.' }).waitFor();

  // Search: "quetzal" is only in the conversation (not the title nor the preview).
  const filter = page.getByTestId('session-filter');
  await filter.fill('nothing-says-this');
  await until('no row matches', async () => (await page.getByTestId('session-row').count()) === 0);
  await filter.fill('QUETZAL');
  await row.waitFor();
  await filter.fill('');

  // Grouped by project (the project directory), and remembered over a reload.
  await page.getByTestId('session-group-toggle').click();
  const group = page.locator('[data-testid="session-group"]', { has: row });
  await group.waitFor();
  if ((await group.getAttribute('data-project')) !== env.project) throw new Error(`grouped under ${await group.getAttribute('data-project')}`);
  await page.reload();
  await page.locator('[data-testid="session-group"]', { has: row }).waitFor();
  await page.getByTestId('session-group-toggle').click();

  // Users: bob runs one session.
  await page.getByTestId('admin-link').click();
  const bobRow = page.locator('[data-testid="user-row"][data-user-name="bob"]');
  await bobRow.getByTestId('user-running-sessions').filter({ hasText: '1 running session' }).waitFor();

  // All sessions, from bob's count: only bob's, with their owner; watched read-only; ended.
  await bobRow.getByTestId('user-sessions-link').click();
  await page.getByTestId('admin-sessions-page').waitFor();
  if ((await page.getByTestId('admin-sessions-owner').inputValue()) !== 'bob') throw new Error('not filtered by bob');
  const bobs = page.locator(`[data-testid="session-row"][data-session-id="${other}"]`);
  await bobs.getByTestId('session-owner').filter({ hasText: 'bob' }).waitFor();
  await until('only bob’s sessions', async () => {
    const owners = await page.getByTestId('session-owner').allInnerTexts();
    return owners.length > 0 && owners.every((o) => o.trim() === 'bob');
  });
  await bobs.getByTestId('session-watch').click();
  await page.getByTestId('chat-view').waitFor();
  await page.getByPlaceholder('Read-only: you are watching this session.').waitFor();
  await page.goBack();
  await page.getByTestId('admin-sessions-page').waitFor();
  await bobs.getByTestId('session-stop').click();
  await page.getByTestId('confirm-button').click();
  await bobs.getByTestId('session-state').filter({ hasText: 'Stopped' }).waitFor();
  // Everyone's, through the admin tabs: the admin's own chat too.
  await page.getByTestId('nav-admin_sessions').click();
  await page.getByTestId('session-row').filter({ hasText: prompt }).getByTestId('session-owner').waitFor();
});
