// A chat session: a streamed reply, a permission prompt allowed and one
// denied with a reason, an interrupt (a neutral "Interrupted"), then a
// normal turn again.
import { env, expectControlsLaidOut, login, newSession, run } from './lib.mjs';

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

  // The slash palette: the picked command's description is shown whole
  // (the CLI's run to 1000 characters); on a phone every one is.
  await input.fill('/');
  await page.getByTestId('slash-palette').waitFor();
  const whole = (sel) =>
    page.locator(sel).evaluateAll((els) => els.filter((el) => el.scrollHeight > el.clientHeight + 1).map((el) => el.textContent.slice(0, 40)));
  for (let i = 0; i < 3; i++) {
    const cut = await whole('[data-testid="slash-palette"] [aria-selected="true"] .slash-desc');
    if (cut.length) throw new Error(`the picked command's description is cut: ${cut}`);
    await input.press('ArrowDown');
  }
  if (mobile) {
    const cut = await whole('[data-testid="slash-palette"] .slash-desc');
    if (cut.length) throw new Error(`descriptions are cut on a phone: ${cut.join(' | ')}`);
  }
  await input.fill('');
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

  // An edit's diff carries the file's own line numbers (the edit is on line 3).
  await say('Edit the third line');
  const editPrompt = page.getByTestId('permission-dialog');
  await editPrompt.locator('[data-testid="diff"][data-numbered="true"]').waitFor();
  const numbers = await editPrompt.locator('.diff-row').first().locator('.diff-no').allInnerTexts();
  if (numbers[0] !== '3') throw new Error(`the edit's diff starts at line ${JSON.stringify(numbers)}, not 3`);
  await page.getByTestId('perm-allow').click();
  await assistant('Edited line three.');

  // A question (AskUserQuestion) is answered, and logged as answered.
  await say('Ask me a question');
  const question = page.locator('[data-testid="permission-dialog"][data-prompt-kind="question"]');
  await question.waitFor();
  // Placed and framed like a permission prompt: the composer's column, the prompt's border.
  const box = async (l) => l.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { left: Math.round(r.left), width: Math.round(r.width), border: getComputedStyle(el).borderTopWidth };
  });
  const [q, c] = [await box(question), await box(page.locator('.composer'))];
  if (q.left !== c.left || q.width !== c.width || q.border !== '2px') {
    throw new Error(`the question panel is not aligned like the permission panel: ${JSON.stringify({ question: q, composer: c })}`);
  }
  await question.getByText('Blue', { exact: true }).click();
  await question.getByTestId('perm-allow').click();
  await assistant('Blue it is.');
  const outcome = await page.getByTestId('permission-outcome').last().innerText();
  if (!/Question: answered by alice/.test(outcome)) throw new Error(`the answered question reads: ${outcome}`);

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
  await expectControlsLaidOut(page, '.session-toolbar');
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
