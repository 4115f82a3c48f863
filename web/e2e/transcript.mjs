// A terminal session's Transcript tab draws the conversation with the chat
// view's renderer: Markdown, and tool calls as cards. The header names the
// session action "End session", written out at every size.
import { login, newSession, run, until } from './lib.mjs';

await run('transcript', async (page) => {
  await page.addInitScript(() => localStorage.setItem('ccweb.terminalRenderer', 'dom'));
  await login(page);
  await newSession(page, 'terminal');
  const screen = async () => (await page.locator('.xterm-rows').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
  await until('the welcome screen', async () => (await screen()).includes('? for shortcuts'));
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('Read the notes');
  await until('the typed prompt', async () => (await screen()).includes('Read the notes'));
  await page.keyboard.press('Enter');
  await until('the reply', async () => (await screen()).includes('from the notes'));

  const end = page.getByTestId('session-stop');
  if (!(await end.getByText('End session', { exact: true }).isVisible())) throw new Error('"End session" has no visible label');

  await page.getByTestId('tab-transcript').click();
  const transcript = page.getByTestId('transcript');
  await transcript.locator('[data-testid="msg-assistant"] .md strong', { hasText: 'Bold' }).waitFor();
  await transcript.locator('[data-testid="tool-card"]', { hasText: 'notes.md' }).waitFor();
  const text = await transcript.innerText();
  if (text.includes('**Bold**')) throw new Error(`the transcript shows raw Markdown:\n${text}`);
  await transcript.getByText('Read the notes').waitFor();
});
