// Shared helpers of the browser flows. Each flow is a script run by the Rust
// test crates/ccweb/tests/browser.rs against a real ccweb (real CLI, fake
// Messages API), with Debian's chromium driven by playwright-core.
//
// Environment: CCWEB_URL (base URL), CCWEB_USER / CCWEB_PASSWORD, CCWEB_PROJECT
// (a working directory inside the allowed root), CCWEB_VIEWPORT (desktop |
// mobile), CCWEB_ARTIFACTS (where a failing flow leaves a screenshot).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const env = {
  url: process.env.CCWEB_URL,
  user: process.env.CCWEB_USER,
  password: process.env.CCWEB_PASSWORD,
  project: process.env.CCWEB_PROJECT,
  viewport: process.env.CCWEB_VIEWPORT || 'desktop',
  artifacts: process.env.CCWEB_ARTIFACTS || '/tmp/ccweb-e2e',
};

const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  mobile: { width: 390, height: 844 },
};

/** Runs `flow(page)` in a fresh browser; exits non-zero (with a screenshot) on failure. */
export async function run(name, flow) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const mobile = env.viewport === 'mobile';
  const context = await browser.newContext({
    viewport: VIEWPORTS[env.viewport] ?? VIEWPORTS.desktop,
    isMobile: mobile,
    hasTouch: mobile,
    baseURL: env.url,
  });
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  // The console names only the status; this names the request.
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`response: ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  try {
    await flow(page, context);
    // CSP violations and script errors show up here.
    const fatal = problems.filter((p) => p.includes('Content Security Policy') || p.startsWith('page error'));
    if (fatal.length) throw new Error(`browser reported:\n${fatal.join('\n')}`);
    console.log(`${name} (${env.viewport}): ok`);
    if (process.env.CCWEB_E2E_VERBOSE) console.log(problems.join('\n'));
  } catch (e) {
    mkdirSync(env.artifacts, { recursive: true });
    const shot = join(env.artifacts, `${name}-${env.viewport}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.error(`${name} (${env.viewport}) failed: ${e.stack || e}\nscreenshot: ${shot}\nbrowser messages:\n${problems.join('\n')}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

/** Logs in with the password form (at `url`, default the app's base). */
export async function login(page, url = './') {
  await page.goto(url);
  await page.getByTestId('login-username').fill(env.user);
  await page.getByTestId('login-password').fill(env.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('new-session-button').waitFor();
}

/** Waits until `fn()` is truthy (polling), or fails with `what`. */
export async function until(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens the new-session dialog and starts a session of `mode` in the project. */
export async function newSession(page, mode) {
  await page.getByTestId('new-session-button').click();
  await page.getByTestId(`new-session-mode-${mode}`).check();
  const dir = page.getByTestId('new-session-dir');
  // Let the first listing arrive, then go to the project. Typing earlier
  // races it: the listing can set the field between fill's select-all and its
  // insert, which leaves the project's path appended to the root's.
  await page.locator('[data-testid="dir-picker"][data-settled="true"]').waitFor();
  await dir.fill(env.project);
  await dir.press('Enter');
  await until('the picker at the project', async () => (await dir.inputValue()) === env.project).catch(async (e) => {
    throw new Error(`${e.message} (the field shows ${JSON.stringify(await dir.inputValue())})`);
  });
  // Start is enabled once the field's text is a listed directory.
  await page.locator('[data-testid="dir-picker"][data-listed="true"]').waitFor();
  if ((await dir.inputValue()) !== env.project) throw new Error(`the picker moved to ${await dir.inputValue()}`);
  await page.getByTestId('new-session-submit').click();
  await page.getByTestId('session-page').waitFor();
}

/**
 * Fails when a control inside `selector` is squeezed (its content spills
 * out of its box), overlaps another, or runs past the window's right edge.
 */
export async function expectControlsLaidOut(page, selector) {
  const problems = await page.locator(selector).evaluate((root) => {
    const controls = [...root.querySelectorAll('button, a, [role="tab"]')].filter((e) => e.getClientRects().length > 0);
    const found = [];
    const boxes = controls.map((e) => ({ e, r: e.getBoundingClientRect(), name: e.getAttribute('data-testid') || e.textContent.trim() || e.getAttribute('aria-label') }));
    for (const { e, r, name } of boxes) {
      if (e.scrollWidth > e.clientWidth + 1) found.push(`${name} is squeezed: its content is ${e.scrollWidth}px wide in ${e.clientWidth}px`);
      if (r.right > window.innerWidth + 1) found.push(`${name} runs past the window (${Math.round(r.right)} > ${window.innerWidth})`);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        if (a.e.contains(b.e) || b.e.contains(a.e)) continue;
        const overlap = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left) > 1 && Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top) > 1;
        if (overlap) found.push(`${a.name} overlaps ${b.name}`);
      }
    }
    return found;
  });
  if (problems.length) throw new Error(`controls of ${selector} are not laid out:\n${problems.join('\n')}`);
}
