// E-mailed sign-in links in Chromium at 375 px, in Japanese: an admin invites a person, the invitation mail (read
// from the SMTP sink's directory) opens the set-password page and signs them in; then "forgot password" on the
// login page mails a reset link that works once, and a used link says so.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, login, submitAndWait } from './helpers.mjs';
import { ensureRoster } from './ui_helpers.mjs';

// the link after marker in the first mail the sink received for rcpt (waits up to 60 s)
async function linkFromMail(rcpt, marker, after = 0) {
  const dir = process.env.RSTREAM_TEST_MAIL_DIR;
  assert(dir, 'tests/run.sh starts the SMTP sink');
  for (let i = 0; i < 300; i++) {
    const found = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.eml')).sort()) {
      const raw = readFileSync(join(dir, f), 'latin1');
      if (!raw.includes(`X-Sink-To: ${rcpt}\r\n`)) continue;
      const body = Buffer.from(raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/\s+/g, ''), 'base64').toString('utf8');
      const m = body.match(new RegExp(`https?://[^\\s]*${marker}[0-9a-f]{64}`));
      if (m) found.push(m[0]);
    }
    if (found.length > after) return found[after];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail with ${marker} for ${rcpt}`);
}

async function fits(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert(!overflow, `${what} fits 375 px`);
}

export async function invitationAndForgottenPasswordByEmail({ page, context, baseURL, adminEmail, adminPassword, screenshot }) {
  const email = `bm-${Date.now()}@sig.example`;
  await page.setViewportSize({ width: 375, height: 740 });
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/admin/users`);
  await submitAndWait(page, '[data-testid=invitations-link]');
  await page.fill('#inv-email', email);
  await page.fill('#inv-name', '招待 次郎');
  await page.selectOption('#inv-role', 'creator');
  await submitAndWait(page, '[data-testid=invite-send]');
  const row = page.locator('[data-testid=invitation-list] tr', { hasText: email });
  assert(await row.count() === 1, 'the invitation is listed');
  assert((await row.innerText()).includes('承諾待ち'), 'waiting, in Japanese');
  await fits(page, 'the invitations page');
  await screenshot('invitations-375');

  const invite = await linkFromMail(email, '/invite#');
  await context.clearCookies();
  await page.goto(invite);
  await page.waitForSelector('[data-testid=invite-form]');
  assert(!page.url().includes('#'), 'the token leaves the address bar');
  assert(await page.inputValue('#token') !== '', 'the token is in the form');
  await fits(page, 'the invitation page');
  await screenshot('invite-accept-375');
  await page.fill('#password', 'invited-pass-2026');
  await page.fill('#password2', 'invited-pass-2026');
  await submitAndWait(page, '[data-testid=invite-form] button[type=submit]');
  await page.waitForSelector('[data-testid=home-teacher]');

  await context.clearCookies();
  await page.goto(`${baseURL}/login`);
  await submitAndWait(page, '[data-testid=forgot-link]');
  await page.waitForSelector('[data-testid=forgot-form]');
  assert((await page.innerText('main')).includes('パスワードを忘れた'), 'Japanese');
  await page.fill('#email', email);
  await submitAndWait(page, '[data-testid=forgot-form] button[type=submit]');
  await page.waitForSelector('[data-testid=forgot-sent]');
  await fits(page, 'the sent page');
  await screenshot('forgot-sent-375');

  const reset = await linkFromMail(email, '/password/reset#');
  await page.goto(reset);
  await page.waitForSelector('[data-testid=reset-form]');
  await page.fill('#password', 'reset-pass-2026x');
  await page.fill('#password2', 'reset-pass-2026x');
  await submitAndWait(page, '[data-testid=reset-form] button[type=submit]');
  assert(new URL(page.url()).pathname === '/login', 'back on the sign-in page');
  await login(page, baseURL, email, 'reset-pass-2026x');

  await context.clearCookies();
  await page.goto(reset);
  await page.fill('#password', 'again-pass-2026x');
  await page.fill('#password2', 'again-pass-2026x');
  await submitAndWait(page, '[data-testid=reset-form] button[type=submit]');
  assert((await page.innerText('[role=alert]')).includes('すでに使用されています'), 'a used link says so');
  await fits(page, 'the used-link page');
  await screenshot('reset-used-375');
}

// A whole class at once, at 375 px: the class is chosen by name in the picker, and the outcome is told in Japanese,
// each count with its reason.
export async function aWholeClassIsInvitedThroughThePicker({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await page.setViewportSize({ width: 375, height: 740 });
  await login(page, baseURL, adminEmail, adminPassword);
  await ensureRoster(page, baseURL);
  await page.goto(`${baseURL}/admin/roster/classes`);
  const className = (await page.locator('main table.grid tbody tr td a').first().textContent()).trim();
  await page.goto(`${baseURL}/admin/invitations`);
  await page.waitForSelector('[data-testid=class-invite]');
  assert(await page.locator('#inv-class').getAttribute('type') === 'hidden', 'the class field became a picker');
  await page.fill('#inv-class-search', className.slice(0, 4));
  await page.waitForSelector('#inv-class-search-options .picker-option');
  await page.keyboard.press('Enter');
  assert(await page.inputValue('#inv-class') !== '', 'a class is chosen');
  await page.selectOption('#inv-who', 'students');
  await fits(page, 'the class invitation form');
  await screenshot('class-invite-form-375');
  await submitAndWait(page, '[data-testid=class-invite-send]');
  const result = page.locator('[data-testid=class-invite-result]');
  await result.waitFor();
  const text = await result.innerText();
  assert(text.includes('クラスへの招待の結果'), `the outcome, in Japanese: ${text}`);
  assert(/\d+人/.test(text) || text.includes('招待できるアカウントがありませんでした'), `counts in words: ${text}`);
  assert(!/has_password|no_email|invited=/.test(text), `no code values: ${text}`);
  await fits(page, 'the outcome');
  await screenshot('class-invite-result-375');
}
