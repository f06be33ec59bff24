// Two-step verification in the browser: a new account enrols TOTP from its account page (QR code, key, recovery
// codes shown once), and the next sign-in asks for a code after the password. The test computes the codes itself
// from the key on the page, as an authenticator app does (RFC 6238: HMAC-SHA1, 30 s, 6 digits).
import { createHmac } from 'node:crypto';
import { assert, login, submitAndWait } from './helpers.mjs';

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    assert(i >= 0, `base32 character ${c}`);
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(out);
}

// the code of the 30 s step `offset` steps from now
function totp(key, offset = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + offset));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  const n = (((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1000000;
  return String(n).padStart(6, '0');
}

async function newUser(page, baseURL, adminEmail, adminPassword, email, password) {
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/admin/users/new`);
  await page.fill('#email', email);
  await page.fill('#name', 'MFA 試験');
  await page.selectOption('#role', 'creator');
  await page.fill('#password', password);
  await submitAndWait(page, 'form[action="/admin/users"] button[type=submit]');
  await page.context().clearCookies();
}

export default async function enrolThenSignInWithACode({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const email = `mfa-${Date.now()}@browser.example`;
  const password = `Browser-mfa-${Date.now()}`;
  await newUser(page, baseURL, adminEmail, adminPassword, email, password);

  // enrol from the account page (the name in the header links there)
  await login(page, baseURL, email, password);
  await page.click('header a.who');
  await page.waitForSelector('[data-testid=mfa-account]');
  await Promise.all([page.waitForURL(/\/account\/mfa\/enrol$/), page.click('[data-testid=mfa-start]')]);
  await page.waitForSelector('[data-testid=mfa-enrol]');
  assert(await page.locator('.mfa-qr svg path').count() === 1, 'the QR code is drawn');
  await page.setViewportSize({ width: 375, height: 800 });
  assert(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'the enrolment page fits 375 px');
  await screenshot('enrol-375');
  await page.setViewportSize({ width: 1280, height: 800 });
  const key = base32(await page.textContent('[data-testid=mfa-secret]'));
  assert(key.length === 20, 'a 160-bit key');

  await page.fill('#code', '000000');
  await submitAndWait(page, '[data-testid=mfa-enrol] button[type=submit]');
  assert(await page.locator('[role=alert]').count() === 1, 'a wrong code is refused with a message');
  await page.fill('#code', totp(key));
  await submitAndWait(page, '[data-testid=mfa-enrol] button[type=submit]');
  await page.waitForSelector('[data-testid=mfa-recovery]');
  const codes = await page.locator('.mfa-codes code').allTextContents();
  assert(codes.length === 10 && codes.every((c) => /^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(c)), `ten recovery codes: ${codes}`);
  await screenshot('recovery-codes');
  await Promise.all([page.waitForURL(/\/account\/mfa$/), page.click('[data-testid=mfa-continue]')]);
  await page.waitForSelector('[data-testid=mfa-status]');
  assert((await page.textContent('[data-testid=mfa-status]')).includes('有効'), 'the account page says it is on');

  // the next sign-in: password, then the code step; nothing else is reachable in between
  await page.context().clearCookies();
  await page.goto(`${baseURL}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(/\/login\/mfa$/), page.click('form[action="/login"] button[type=submit]')]);
  await page.waitForSelector('[data-testid=mfa-verify]');
  await screenshot('code-step');
  await page.goto(`${baseURL}/account/mfa`);
  assert(new URL(page.url()).pathname === '/login', `the half-signed-in state opens nothing (at ${page.url()})`);
  await page.goto(`${baseURL}/login/mfa`);
  await page.fill('#code', totp(key, 1));   // the enrolment used this step's code: the next one is in the window
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('[data-testid=mfa-verify] button[type=submit]')]);
  assert(await page.locator('header a.who').count() === 1, 'signed in after the code');
}
