// A chat session: a streamed reply, a permission prompt allowed and one
// denied with a reason, an interrupt (a neutral "Interrupted"), then a
// normal turn again.
import { env, login, newSession, run } from './lib.mjs';

await run('chat', async (page) => {
  await login(page);
  await newSession(page, 'chat');
  await page.getByTestId('chat-view').waitFor();
  const mobile = env.viewport === 'mobile';
  const input = page.getByTestId('composer-input');
  const say = async (text) => {
    await input.fill(text);
    await page.getByTestId('composer-send').click();
  };
  const assistant = (text) => page.getByTestId('msg-assistant').filter({ hasText: text }).first().waitFor();

  await say('Stream me something');
  await assistant('Streamed chat reply.');
  await page.getByTestId('turn-cost').first().waitFor();

  await say('Write the allowed file');
  await page.getByTestId('permission-dialog').waitFor();
  await page.getByTestId('perm-allow').click();
  await assistant('Wrote it.');

  await say('Write the denied file');
  await page.getByTestId('permission-dialog').waitFor();
  await page.getByTestId('perm-deny-reason').fill('Not this one');
  await page.getByTestId('perm-deny').click();
  await assistant('Understood, not writing.');

  await say('Count slowly');
  await assistant('slow2');
  // Two different actions, both written out at every size: the composer's
  // "Stop" ends the turn, the header's "End session" ends the session — and
  // asks first while a turn runs. Esc is only suggested where there is a keyboard.
  const stopTurn = page.getByTestId('interrupt');
  const endSession = page.getByTestId('session-stop');
  if (!(await stopTurn.getByText('Stop', { exact: true }).isVisible())) throw new Error('the composer\'s Stop has no visible label');
  if (!(await endSession.getByText('End session', { exact: true }).isVisible())) throw new Error('"End session" has no visible label');
  const [heading, end] = [await page.locator('.session-heading').boundingBox(), await endSession.boundingBox()];
  const overlap = heading.x < end.x + end.width && end.x < heading.x + heading.width && heading.y < end.y + end.height && end.y < heading.y + heading.height;
  if (overlap) throw new Error('"End session" covers the session\'s title');
  const hint = (await input.getAttribute('placeholder')) + (await stopTurn.getAttribute('title'));
  if (mobile === hint.includes('Esc')) throw new Error(`the Esc hint is ${mobile ? 'shown on a touch screen' : 'missing'}: ${hint}`);
  await endSession.click();
  const confirm = page.getByTestId('confirm-dialog');
  await confirm.getByText('A turn is running. End the session anyway?').waitFor();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'detached' });
  await assistant('slow3');
  await page.getByTestId('interrupt').click();
  await page.getByTestId('interrupt').waitFor({ state: 'detached' });
  // The interrupt is the user's doing: a neutral "Interrupted", no CLI
  // diagnostic, and "Interrupting…" gone as soon as the turn has ended.
  await page.getByTestId('turn-interrupted').waitFor();
  if ((await page.getByTestId('chat-interrupting').count()) > 0) throw new Error('"Interrupting…" is still shown after the turn ended');
  const streamed = await page.getByTestId('chat-transcript').innerText();
  if (streamed.includes('slow59')) throw new Error('the interrupted reply ran to its end');
  if (/ede_diagnostic|Turn stopped|Turn failed/.test(streamed)) throw new Error(`the interrupt reads as a failure:\n${streamed}`);
  if ((await page.locator('.turn-error').count()) > 0) throw new Error('the interrupt is shown as an error');
  if ((await page.getByText('Interrupting…').count()) > 0) throw new Error('"Interrupting…" lingers after the turn ended');

  await say('Go on');
  await assistant('After the interrupt.');
  // Between turns, "End session" ends it at once.
  await stopTurn.waitFor({ state: 'detached' });
  await endSession.click();
  await page.getByTestId('session-resume').waitFor();
  if ((await page.getByTestId('confirm-dialog').count()) > 0) throw new Error('ending an idle session asked for confirmation');

  // Export: the home page's export link downloads the transcript as Markdown.
  await page.goto('./#/');
  const href = await page.getByTestId('session-export').first().getAttribute('href');
  const md = await (await page.request.get(new URL(href, page.url()).toString())).text();
  if (!md.includes('Stream me something') || !md.includes('Streamed chat reply.')) throw new Error(`export is missing the conversation:\n${md}`);
});
